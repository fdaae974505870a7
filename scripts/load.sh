#!/usr/bin/env bash
# Load test: USERS people (default 50) for DURATION (default 60s) against gunicorn on the
# demo organisation with ITEMS work items, then count in the database that no write the
# load made was lost or doubled. Needs the bench extra (locust): `make bench` installs it.
#
# It makes its own database (opshub_load on the PostgreSQL of LOAD_PG) and its own Redis
# on a free loopback port, so it touches nobody's data. Results: .data/load/.
#   USERS=10 DURATION=20s scripts/load.sh     # a smaller run
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-50}
DURATION=${DURATION:-60s}
ITEMS=${ITEMS:-400}
WEB_WORKERS=${WEB_WORKERS:-3}
SPAWN_RATE=${SPAWN_RATE:-5}  # people arriving per second
LOAD_PG=${LOAD_PG:-postgres://postgres@127.0.0.1:5432}
DB_NAME=${LOAD_DB:-opshub_load}
PY=.venv/bin/python
OUT=.data/load
mkdir -p "$OUT"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
REDIS_PORT=$(free_port)

export DATABASE_URL="$LOAD_PG/$DB_NAME"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DEBUG=0 SECRET_KEY="load-test-only-$(date +%s)-not-a-real-secret-key-xxxxxxxxxxxx"
export ALLOWED_HOSTS=127.0.0.1 OPSHUB_BASE_URL="https://127.0.0.1:$PORT"
export EMAIL_URL=locmem:// LOG_LEVEL=WARNING CONN_MAX_AGE=60
export OPSHUB_DEMO_PASSWORD=${OPSHUB_DEMO_PASSWORD:-opshub-demo}
export LOAD_COUNTS="$OUT/counts.json"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$OUT/redis.log" 2>&1 &
pids+=($!)

echo "== database $DB_NAME: migrate and seed $ITEMS items"
"$PY" - <<PYEOF
import psycopg
with psycopg.connect("$LOAD_PG/postgres", autocommit=True) as conn:
    conn.execute('DROP DATABASE IF EXISTS "$DB_NAME" WITH (FORCE)')
    conn.execute('CREATE DATABASE "$DB_NAME"')
PYEOF
"$PY" manage.py migrate -v0
"$PY" manage.py seed_demo --items "$ITEMS" --force >/dev/null
"$PY" manage.py collectstatic --noinput -v0

# keep-alive above the clients' idle time: with gunicorn's 2 s default a client reusing a
# connection the server is closing gets "connection reset" (behind a proxy: above its idle timeout).
echo "== gunicorn on 127.0.0.1:$PORT ($WEB_WORKERS workers x 4 threads)"
rm -f "$OUT/gunicorn.log"
.venv/bin/gunicorn -c python:opshub.gunicorn opshub.wsgi -b "127.0.0.1:$PORT" -w "$WEB_WORKERS" --threads 4 \
    --keep-alive 30 --access-logfile /dev/null --error-logfile "$OUT/gunicorn.log" &
pids+=($!)
for _ in $(seq 1 60); do
    if curl -sf -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT/healthz" >/dev/null; then break; fi
    sleep 0.5
done

echo "== locust: $USERS users for $DURATION"
set +e
.venv/bin/locust -f scripts/load/locustfile.py --headless -u "$USERS" -r "$SPAWN_RATE" \
    -t "$DURATION" --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" --only-summary \
    >"$OUT/locust.log" 2>&1
locust_status=$?
set -e
tail -n 40 "$OUT/locust.log"

echo "== events in the database"
check_status=0
"$PY" scripts/load/check.py "$LOAD_COUNTS" || check_status=$?

echo "== p95 per request (ms), from $OUT/locust_stats.csv"
"$PY" - <<'PYEOF'
import csv
with open(".data/load/locust_stats.csv") as f:
    for row in csv.DictReader(f):
        print(f"{row['Name']:28} n={row['Request Count']:>6} fail={row['Failure Count']:>4} "
              f"p50={row['50%']:>6} p95={row['95%']:>6} p99={row['99%']:>6} rps={float(row['Requests/s']):.1f}")
PYEOF
exit $(( locust_status != 0 ? locust_status : check_status ))
