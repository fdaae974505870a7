#!/bin/sh
# Ensure PostgreSQL answers on 127.0.0.1:$PGPORT (default 5432) with trust auth.
# Idempotent: a no-op when it already does. Installs Debian's postgresql when missing.
# Rewrites pg_hba.conf to trust: for CI and dev boxes only, never a shared server.
set -eu
PORT=${PGPORT:-5432}
ok() { psql -h 127.0.0.1 -p "$PORT" -U postgres -w -Atqc 'select 1' >/dev/null 2>&1; }
ok && { echo "postgres: already up on 127.0.0.1:$PORT"; exit 0; }
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres: installing Debian's postgresql ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
V=$(ls /usr/lib/postgresql | sort -V | tail -1)
[ -f "/etc/postgresql/$V/main/postgresql.conf" ] || pg_createcluster "$V" main --port "$PORT" >/dev/null
C=/etc/postgresql/$V/main
printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' > "$C/pg_hba.conf"
mkdir -p "$C/conf.d"
# A throwaway CI/dev cluster need not wait for the disk (fsyncs take seconds on slow disks).
printf "listen_addresses = '127.0.0.1'\nport = %s\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" \
  "$PORT" > "$C/conf.d/zz-ci.conf"
# No systemd here: pg_ctlcluster must not redirect to systemctl.
if pg_ctlcluster "$V" main status >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$V" main restart
else
  pg_ctlcluster --skip-systemctl-redirect "$V" main start
fi
for _ in $(seq 50); do ok && break; sleep 0.2; done
if ok; then
  echo "postgres $V: up on 127.0.0.1:$PORT (trust)"
else
  tail -20 "/var/log/postgresql/postgresql-$V-main.log"; exit 1
fi
