#!/bin/sh
# Ensure Redis answers on 127.0.0.1:$REDIS_PORT (default 6379). Idempotent.
# Installs Debian's redis-server when missing; runs it without persistence.
set -eu
PORT=${REDIS_PORT:-6379}
ok() { [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; }
ok && { echo "redis: already up on 127.0.0.1:$PORT"; exit 0; }
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "redis: installing Debian's redis-server ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
mkdir -p /var/lib/redis /var/log/redis
# "-::1" makes the IPv6 bind optional.
redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$PORT" --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log
for _ in $(seq 50); do ok && break; sleep 0.1; done
if ok; then
  echo "redis: up on 127.0.0.1:$PORT"
else
  tail -20 /var/log/redis/ci.log; exit 1
fi
