"""`make bench`: opshub at 100,000 items and a million events, every target a ratio.

One run seeds (or reuses) two data sets on PostgreSQL, serves each with gunicorn as in
production (2 workers, DEBUG off, collected static files), and measures:

- pages under 8 concurrent clients, in interleaved rounds, against a trivial signed-in
  page (/ping/) measured in the same rounds: the dashboard as a full page and as its
  htmx partial, the dashboard at 10,000 items against 100,000, the board, the filtered
  list and the search, My work, an item's page with its forecast (in the page, or
  loaded after it while the forecast's model is being built), the item forecast API and
  the forecasts-and-flow page;
- the flow page's CFD and handoff ranking built cold, and a workflow forecast of 10,000
  simulations;
- API creates per second against the trivial page's requests per second;
- the scoreboard's full recompute against bare SQL computing the same average and
  percentiles from the same event log, and the incremental update of one item;
- the stall scan (every team has a working calendar) against a bare indexed count of
  the same conditions on the wall clock, on the data set as seeded and with every item
  open;
- import_events of the BPIC 2012 log against a bare COPY of the same event rows into an
  equivalent table (and against pm4py reading the same CSV, for scale);
- discovery of the same log (directly-follows graph and handover network) against
  pm4py's discover_dfg + discover_handover_of_work_network on the same events;
- the peak memory of the gunicorn workers and of the Celery worker during the recompute.

The machines are shared and noisy, so absolute times are reported but only ratios are
judged, and every ratio compares two things measured side by side. Prints a table,
writes bench-results/bench.json and the generated section of docs/benchmarks.md.

Data sets are kept between runs, keyed by a marker on the database (items, days, seed
and the migrations): `--reseed` forces a fresh one. Uses DATABASE_URL / REDIS_URL (the
server; the bench uses its own databases on it) or starts the embedded servers.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
PY = sys.executable
EVENT_LOG = ROOT.parent / "shared" / "data" / "eventlogs" / "bpic2012.csv"
RESULTS = ROOT / "bench-results" / "bench.json"
DOC = ROOT / "docs" / "benchmarks.md"
DOC_BEGIN = "<!-- bench:results:begin (written by scripts/bench.py) -->"
DOC_END = "<!-- bench:results:end -->"
# Bump when the seeded data changes shape, so old data sets are not reused.
# 2: every team has a working calendar (seed_demo --calendars).
DATA_VERSION = 2
USER = "lead@example.com"
CLIENTS = 8

# name: (what, how it is judged, target)
TARGETS = {
    "dashboard_full": "dashboard p95 ≤ 3× the trivial view",
    "dashboard_partial": "dashboard partial p95 ≤ 3× the trivial view",
    "dashboard_growth": "dashboard 10k → 100k ≤ 1.3×",
    "board": "board p95 ≤ 3× the trivial view",
    "item_page": "item page with its forecast p95 ≤ 3× the trivial view",
    "flow": "forecasts-and-flow page (CFD, ranking; cached) p95 ≤ 3× the trivial view",
    "flow_built": "CFD and handoff ranking built (cold) ≤ 1 s each",
    "item_forecast": "item forecast API (model cached) p95 ≤ 3× the trivial view",
    "list_filtered": "filtered list p95 ≤ 3× the trivial view",
    "list_search": "list search p95 ≤ 3× the trivial view",
    "my_work": "My work p95 ≤ 2× the trivial view",
    "recompute": "full recompute ≤ 3× bare SQL",
    "incremental": "incremental update ≤ 20 ms median",
    "scan": "stall scan (calendars on every team) ≤ 3× bare SQL and < 1 s",
    "scan_all_open": "stall scan, 100k open (calendars) ≤ 3× bare SQL and < 1 s",
    "api_creates": "API creates ≥ 0.25× trivial req/s",
    "import_copy": "import_events ≤ 3× a bare COPY of its event rows",
    "discovery": "discovery ≤ 2× pm4py (DFG + handover)",
    "workflow_forecast": "workflow forecast, 10,000 simulations ≤ 1 s",
    "web_rss": "gunicorn worker ≤ 250 MB",
    "celery_rss": "Celery worker ≤ 300 MB",
}


def log(message):
    print(f"[bench] {message}", flush=True)


# --- Databases and data sets -----------------------------------------------------------------


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def admin_connect(url):
    import psycopg

    return psycopg.connect(with_database(url, "postgres"), autocommit=True)


def migrations_key():
    names = sorted(
        str(p.relative_to(ROOT)) for p in ROOT.glob("*/migrations/0*.py") if ".venv" not in p.parts
    )
    names += sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("opshub/*/migrations/0*.py"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]


def marker_for(items, days, seed):
    return (
        f"opshub-bench v{DATA_VERSION} items={items} days={days} seed={seed} mig={migrations_key()}"
    )


def read_marker(server_url, name):
    with admin_connect(server_url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return row[0] if row else None


def recreate_database(server_url, name, template=None):
    from psycopg import sql

    with admin_connect(server_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)


def set_marker(server_url, name, text):
    from psycopg import sql

    with admin_connect(server_url) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
        )


def django_env(database_url, **extra):
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="opshub.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # The data sets share one Redis: each keeps its own cached dashboard.
        CACHE_KEY_PREFIX=f"bench-{urllib.parse.urlsplit(database_url).path.strip('/')}",
        **extra,
    )


def manage(env, *args, capture=False):
    result = subprocess.run(  # noqa: S603 - our own command lines
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout


def ensure_dataset(server_url, name, items, days, args):
    """The seeded database `name`, reused when its marker matches. Returns seed facts."""
    marker = marker_for(items, days, args.seed)
    current = read_marker(server_url, name)
    if current and current.split(" took=")[0] == marker and not args.reseed:
        log(f"{name}: reusing the data set ({marker})")
        return _seed_facts(current)
    log(f"{name}: seeding {items:,} items over {days} days (a few minutes) ...")
    recreate_database(server_url, name)
    env = django_env(with_database(server_url, name))
    manage(env, "migrate", "--verbosity", "0")
    started = time.monotonic()
    manage(
        env, "seed_demo", "--force", "--calendars", "--items", str(items), "--days", str(days),
        "--seed", str(args.seed), capture=True,
    )  # fmt: skip
    took = time.monotonic() - started
    set_marker(server_url, name, f"{marker} took={took:.0f}")
    log(f"{name}: seeded in {took:.0f} s")
    return _seed_facts(f"{marker} took={took:.0f}")


def _seed_facts(marker):
    match = re.search(r"took=(\d+)", marker)
    return {"seed_seconds": int(match.group(1)) if match else None}


def vacuum(url):
    """What autovacuum would have done by the time anyone looked at a real instance (and
    undoes the dead rows of the last run's rolled-back probes)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def dataset_counts(url):
    import psycopg

    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("handoffs_workitem", "handoffs_event", "scoreboard_delivereditemfact")
        }
        states = dict(
            conn.execute("SELECT state, count(*) FROM handoffs_workitem GROUP BY state").fetchall()
        )
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    return {
        "items": counts["handoffs_workitem"],
        "events": counts["handoffs_event"],
        "facts": counts["scoreboard_delivereditemfact"],
        "open_items": sum(n for s, n in states.items() if s not in ("done", "cancelled")),
        "database_size": size.fetchone()[0],
    }


# --- Servers ----------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn as in production: 2 sync workers, DEBUG off, static files collected."""

    def __init__(self, env, name):
        self.env, self.name, self.port = env, name, free_port()
        self.proc = None

    def start(self):
        log_file = open(ROOT / "bench-results" / f"gunicorn-{self.name}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            [
                PY, "-m", "gunicorn", "-c", "python:opshub.gunicorn", "opshub.wsgi",
                "--workers", "2",
                "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
            ],
            cwd=ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.name}) exited; see {log_file.name}")
            try:
                status, _, _ = request(self.port, "GET", "/healthz")
                if status in (200, 503):
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn ({self.name}) did not answer within 90 s")

    def worker_pids(self):
        import psutil

        return [p.pid for p in psutil.Process(self.proc.pid).children()]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RssSampler(threading.Thread):
    """Peak resident memory of some processes (and their children), sampled every 50 ms."""

    def __init__(self, pids_fn):
        super().__init__(daemon=True)
        self.pids_fn, self.peaks, self.stopping = pids_fn, {}, threading.Event()

    def run(self):
        import psutil

        while not self.stopping.is_set():
            for pid in self.pids_fn():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
            time.sleep(0.05)

    def peak_mb(self):
        self.stopping.set()
        self.join(2)
        return round(max(self.peaks.values(), default=0) / 2**20, 1)


# --- HTTP client ------------------------------------------------------------------------------


def request(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def _cookies(headers, jar):
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key.strip()] = rest.split(";", 1)[0]
    return jar


def login(port, email, password):
    """A real sign-in through the login form; returns the Cookie header."""
    status, headers, body = request(port, "GET", "/accounts/login/")
    jar = _cookies(headers, {})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode(
        {"username": email, "password": password, "csrfmiddlewaretoken": token}
    )
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, headers, _ = request(
        port,
        "POST",
        "/accounts/login/",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        form,
    )
    jar = _cookies(headers, jar)
    if status != 302 or "sessionid" not in jar:
        raise RuntimeError(f"login as {email} failed ({status})")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def load(port, path, headers, *, requests=None, seconds=None, method="GET", body=None):
    """CLIENTS threads hitting one URL: per-request latencies (s), errors and wall time.

    `path` may be a tuple of (path, extra headers): a page and what it may load right
    after (the item page, then its forecast by htmx when the page has not rendered it),
    fetched in turn on one connection and timed together, as the person waits for both; a
    later step is fetched only when the page names it, as the browser would."""
    steps = path if isinstance(path, tuple) else ((path, {}),)
    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds if seconds else None

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            if requests is not None and next(counter) >= requests:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            payload = body() if callable(body) else body
            started = time.perf_counter()
            status = _fetch_steps(conn, method, steps, payload, headers)
            elapsed = time.perf_counter() - started
            with lock:
                if status in (200, 201):
                    latencies.append(elapsed)
                else:
                    errors.append(status)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def _fetch_steps(conn, method, steps, body, headers):
    """A page and what it names of the steps after it, in turn: the last status."""
    page = b""
    for n, (step, extra) in enumerate(steps):
        if n and step.encode() not in page:
            continue
        status, content = _fetch(conn, method, step, body, {**headers, **extra})
        page = page or content
        if status not in (200, 201):
            break
    return status


def _fetch(conn, method, path, body, headers):
    """One request on a kept-alive connection: its status (or the error's repr) and body."""
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
        return response.status, content
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return repr(exc), b""


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * fraction
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary_ms(latencies):
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
    }


def measure_pages(endpoints, rounds, per_round):
    """Interleaved rounds: each endpoint gets per_round requests per round, in turn, so a
    burst of load from elsewhere on the machine hits every endpoint alike."""
    samples = {name: [] for name in endpoints}
    errors = {name: [] for name in endpoints}
    for port, path, headers in endpoints.values():  # warm-up, not counted
        load(port, path, headers, requests=CLIENTS * 2)
    for r in range(rounds):
        for name, (port, path, headers) in endpoints.items():
            latencies, errs, _ = load(port, path, headers, requests=per_round)
            samples[name] += latencies
            errors[name] += errs
        log(f"pages: round {r + 1}/{rounds} done")
    return {name: {**summary_ms(samples[name]), "errors": len(errors[name])} for name in samples}


def measure_api(port, cookie, token, workflow_id, rounds, seconds):
    """Creates/s through the API against the trivial page's requests/s, interleaved."""
    api_headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    n = iter(range(10**9))

    def body():
        return json.dumps({"workflow": workflow_id, "title": f"Bench create {next(n)}"})

    creates = trivial = 0.0
    created_total = errors_total = 0
    for _ in range(rounds):
        lat, errs, wall = load(port, "/ping/", {"Cookie": cookie}, seconds=seconds)
        trivial += len(lat) / wall / rounds
        lat, errs, wall = load(
            port, "/api/v1/work-items/", api_headers, seconds=seconds, method="POST", body=body
        )
        creates += len(lat) / wall / rounds
        created_total += len(lat)
        errors_total += len(errs)
    return {
        "creates_per_s": round(creates, 1),
        "trivial_per_s": round(trivial, 1),
        "created": created_total,
        "errors": errors_total,
    }


# --- Probes: measurements inside Django, in a subprocess per database -------------------------


def run_probe(kind, env, *args):
    out = subprocess.run(  # noqa: S603
        [PY, str(Path(__file__).resolve()), "--probe", kind, *args],
        cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


BARE_CYCLE_SQL = """
    WITH cycle AS (
        SELECT EXTRACT(EPOCH FROM MAX(e.at) FILTER (WHERE e.kind = 'delivered') - MIN(e.at))
                   AS seconds
        FROM handoffs_event e
        JOIN handoffs_workitem i ON i.id = e.item_id
        WHERE i.state = 'done' AND e.at <= i.delivered_at
        GROUP BY e.item_id
    )
    SELECT count(*), avg(seconds),
           percentile_cont(ARRAY[0.5, 0.85, 0.95]) WITHIN GROUP (ORDER BY seconds)
    FROM cycle
"""

# The same five conditions as the scan (handoffs/stalls/detection.py), as plain indexed
# counts on the wall clock: the scan also counts each team's working time (its calendar).
BARE_STALL_SQL = """
    SELECT
      (SELECT count(*) FROM handoffs_workitem i
         JOIN handoffs_protocolversion v ON v.id = i.pending_version_id
        WHERE i.state = 'waiting_acceptance'
          AND i.state_changed_at + v.acceptance_target <= %(now)s)
    + (SELECT count(*) FROM handoffs_workitem i
         JOIN handoffs_stage s ON s.id = i.stage_id
        WHERE i.state = 'in_progress' AND i.stage_entered_at + s.target <= %(now)s)
    + (SELECT count(*) FROM handoffs_recovery r
        WHERE r.closed_at IS NULL AND r.next_check_at <= %(now)s)
    + (SELECT count(*) FROM handoffs_decision d
        WHERE d.status = 'pending' AND d.requested_at + interval '24 hours' <= %(now)s)
    + (SELECT count(*) FROM handoffs_workitem i
        WHERE i.due_date IS NOT NULL AND i.state NOT IN ('done', 'cancelled')
          AND i.due_date < %(now)s::date)
"""


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def probe_db(repeats):
    """Recompute, incremental update and stall scan on the configured database."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from handoffs.models import WorkItem
    from handoffs.stalls.detection import run_scan
    from scoreboard.services import snapshot_rebuild, snapshot_update

    def bare_cycle():
        with connection.cursor() as cursor:
            cursor.execute(BARE_CYCLE_SQL)
            return cursor.fetchone()

    def bare_stalls(now):
        with connection.cursor() as cursor:
            cursor.execute(BARE_STALL_SQL, {"now": now})
            return cursor.fetchone()[0]

    def scan_rolled_back():
        # Rolled back, so every repeat finds the same stalls to open.
        with transaction.atomic():
            started = time.perf_counter()
            opened = run_scan(now=now)
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        return elapsed, opened

    result = {}
    bare_cycle()  # warm the cache for both sides
    rebuild, bare = [], []
    for _ in range(repeats):
        bare.append(_timed(bare_cycle))
        rebuild.append(_timed(snapshot_rebuild))
    result["recompute"] = {
        "rebuild_s": statistics.median(rebuild),
        "bare_s": statistics.median(bare),
    }

    delivered = list(
        WorkItem.objects.filter(state=WorkItem.State.DONE).values_list("pk", flat=True)
    )
    sample = random.Random(7).sample(delivered, min(31, len(delivered)))
    incremental = [_timed(snapshot_update, item_ids=[pk]) for pk in sample]
    result["incremental"] = {"median_ms": statistics.median(incremental) * 1000, "n": len(sample)}

    now = timezone.now()
    for label, reopen in (("scan", False), ("scan_all_open", True)):
        with transaction.atomic():
            if reopen:
                _reopen_everything()
            open_items = WorkItem.objects.open().count()
            # The first scan after seeding catches up on a backlog (at most BATCH new
            # stalls per kind, each alerted): reported, but the target is the steady
            # state, the scan beat runs every minute once every stall has its episode.
            first_s, first = scan_rolled_back()
            _open_every_stall(now)
            scans, bares, opened = [], [], None
            for _ in range(repeats):
                bares.append(_timed(bare_stalls, now))
                elapsed, opened = scan_rolled_back()
                scans.append(elapsed)
            count = bare_stalls(now)
            transaction.set_rollback(True)
        with connection.cursor() as cursor:  # the rolled-back rows leave dead index entries
            cursor.execute("VACUUM ANALYZE handoffs_workitem")
            cursor.execute("VACUUM ANALYZE handoffs_stallepisode")
        result[label] = {
            "scan_s": statistics.median(scans),
            "bare_s": statistics.median(bares),
            "first_scan_s": first_s,
            "first_scan": first,
            "open_items": open_items,
            "stalled": count,
            "opened": opened,
        }
    return result


def _open_every_stall(now):
    """Every current stall gets its episode, already alerted and escalated (what the
    scans before this one did), as seed_demo does for the stalls it opens."""
    from django.db import connection

    from handoffs.models import StallEpisode
    from handoffs.stalls import detection as stalls
    from handoffs.stalls import escalation
    from handoffs.stalls.alerts import queue_due_emails
    from handoffs.workflows.models import TeamCalendar

    worktime = TeamCalendar.scan_cte(now)
    with connection.cursor() as cursor:
        for kind in stalls._CANDIDATES:
            cursor.execute(*stalls.open_statement(kind, now, worktime, batch=None))
        cursor.execute(
            "UPDATE handoffs_stallepisode SET alerted_at = %(now)s, last_reminded_at = %(now)s, "
            "escalated_at = %(now)s WHERE resolved_at IS NULL",
            {"now": now},
        )
    # The escalation and email steps of those scans: each stall's policy applied until
    # none is due (each step moves a stall's next check to its next level or reminder),
    # and the notices it names queued. Without it every stall would be due again in each
    # measured scan, a backlog no running scheduler has after its first minutes.
    due = StallEpisode.objects.filter(resolved_at=None, next_check_at__lte=now)
    left = due.count()
    while left:
        escalation.advance(now=now)
        queue_due_emails(now=now)
        left, before = due.count(), left
        if left >= before:  # a step that moves nothing on would loop for ever
            break
    with connection.cursor() as cursor:
        # After minutes of running, autovacuum has analyzed the table with its new episodes.
        cursor.execute("ANALYZE handoffs_stallepisode")


def _reopen_everything():
    """Every delivered or cancelled item back in progress in its last stage (rolled back)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE handoffs_workitem SET state = 'in_progress', delivered_at = NULL "
            "WHERE state IN ('done', 'cancelled')"
        )
        cursor.execute("ANALYZE handoffs_workitem")


def probe_import(path, repeats):
    """import_events of an event-log CSV (committed) against a bare COPY of the event rows
    it wrote, and against pm4py on the same CSV."""
    import django

    django.setup()
    import io

    from django.core.management import call_command

    imports = []
    for n in range(repeats):
        imports.append(
            _timed(call_command, "import_events", path, workflow=f"Bench {n}", stdout=io.StringIO())
        )
    copies = _bare_copies(f"Bench {repeats - 1}", repeats)
    import pandas as pd
    import pm4py

    def pm4py_durations():
        frame = pd.read_csv(path, dtype={"case_id": str})
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
        frame = pm4py.format_dataframe(
            frame, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
        )
        return pm4py.get_all_case_durations(frame)

    pm4py_durations()  # first call loads pm4py's lazy imports: not the CSV's cost
    theirs = [_timed(pm4py_durations) for _ in range(repeats)]
    return {
        "import_s": statistics.median(imports),
        "pm4py_s": statistics.median(theirs),
        **copies,
    }


_EVENT_COLUMNS = "item_id, kind, at, actor_id, from_stage_id, to_stage_id, payload"


def _bare_copies(workflow_name, repeats):
    """The event rows the import wrote, COPYed again into a table like handoffs_event (same
    columns, defaults and indexes; no foreign keys, no trigger), committed: the database's
    own price for those rows. `copy_checked_s` adds the table's foreign keys (deferred,
    checked at commit as the import's are)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM handoffs_workflow WHERE name = %s", [workflow_name])
        (workflow_id,) = cursor.fetchone()
        rows = bytearray()
        with cursor.connection.cursor().copy(
            f"COPY (SELECT {_EVENT_COLUMNS} FROM handoffs_event e JOIN handoffs_workitem i "  # noqa: S608
            f"ON i.id = e.item_id WHERE i.workflow_id = {int(workflow_id)}) TO STDOUT"
        ) as copy:
            for chunk in copy:
                rows += chunk
    foreign_keys = (
        "ALTER TABLE bench_event ADD FOREIGN KEY (item_id) REFERENCES handoffs_workitem "
        "DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (actor_id) REFERENCES accounts_user "
        "DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (from_stage_id) REFERENCES "
        "handoffs_stage DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (to_stage_id) "
        "REFERENCES handoffs_stage DEFERRABLE INITIALLY DEFERRED"
    )

    def copy_once(checked):
        conn = connection.connection
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_event")
            cursor.execute(
                "CREATE TABLE bench_event (LIKE handoffs_event INCLUDING DEFAULTS "
                "INCLUDING INDEXES INCLUDING IDENTITY)"
            )
            if checked:
                cursor.execute(foreign_keys)
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY bench_event ({_EVENT_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(bytes(rows))
        conn.commit()
        elapsed = time.perf_counter() - started
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE bench_event")
        conn.commit()
        return elapsed

    connection.ensure_connection()
    connection.connection.autocommit = False
    bare = [copy_once(False) for _ in range(repeats)]
    checked = [copy_once(True) for _ in range(repeats)]
    return {
        "event_rows": rows.count(b"\n"),
        "copy_bare_s": statistics.median(bare),
        "copy_checked_s": statistics.median(checked),
    }


def probe_discovery(path, repeats):
    """Discovery's counting of a log against pm4py's discover_dfg and handover network on
    the same events; both read the CSV first, untimed."""
    import django

    django.setup()
    from scoreboard.discovery.counting import discover
    from scoreboard.discovery.readers import read_event_log

    log = read_event_log(path)
    ours = [_timed(discover, list(log.events), starts=log.starts) for _ in range(repeats)]
    import pandas as pd
    import pm4py

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"resource": "org:resource"})
    frame = pm4py.format_dataframe(
        frame, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
    )
    staffed = frame[frame["org:resource"] != ""]

    def pm4py_map():
        pm4py.discover_dfg(frame)
        pm4py.discover_handover_of_work_network(staffed, beta=0)

    pm4py_map()  # first call loads pm4py's lazy imports
    theirs = [_timed(pm4py_map) for _ in range(repeats)]
    return {"discovery_s": statistics.median(ours), "pm4py_s": statistics.median(theirs)}


def probe_forecast(repeats):
    """The workflow forecast (10,000 throughput simulations) for the busiest workflow: when
    will its open items be done, and how many by 90 days from now. Runs alone with
    `python scripts/bench.py --probe forecast [repeats]` against DATABASE_URL."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opshub.settings")
    django.setup()
    import datetime

    from django.db.models import Count

    from handoffs.models import Workflow
    from scoreboard.forecasting import live

    workflow = Workflow.objects.counted().annotate(n=Count("items")).order_by("-n", "pk").first()
    until = datetime.date.today() + datetime.timedelta(days=90)
    when = [_timed(live.workflow_forecast, workflow) for _ in range(repeats)]
    by = [_timed(live.workflow_forecast, workflow, until=until) for _ in range(repeats)]
    return {
        "workflow_forecast": {
            "simulations": live.WORKFLOW_SIMULATIONS,
            "when_s": statistics.median(when),
            "how_many_s": statistics.median(by),
        }
    }


def probe_flow(repeats):
    """The forecasts-and-flow page's figures built cold, as on a snapshot change (the page
    then serves them from the cache): the CFD and the handoff ranking of the busiest
    workflow over the page's default period (this quarter), each timed alone, and all the
    page's figures together; median of `repeats`."""
    import datetime

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opshub.settings")
    django.setup()
    from django.db.models import Count
    from django.utils import timezone

    from handoffs.models import Workflow
    from opshub.lib.timezones import zone_or_utc
    from scoreboard import dashboard
    from scoreboard.forecasting import flow

    workflow = Workflow.objects.counted().annotate(n=Count("items")).order_by("-n", "pk").first()
    tz, now = zone_or_utc(None), timezone.now()
    period = dashboard.window_period(None, None, None, tz, timezone.localdate(timezone=tz))

    def figures():
        times = flow.lead_and_cycle(workflow, period.since, period.until)
        flow.cumulative_flow(workflow, period.since, period.until)
        flow.weekly_throughput(workflow, now - datetime.timedelta(weeks=26), now)
        flow.pain_ranking(workflow, period.since, period.until, now=now)
        flow.service_level_bands(workflow, times["lead"], now=now)

    cfd = [
        _timed(flow.cumulative_flow, workflow, period.since, period.until) for _ in range(repeats)
    ]
    ranking = [
        _timed(flow.pain_ranking, workflow, period.since, period.until, now=now)
        for _ in range(repeats)
    ]
    every = [_timed(figures) for _ in range(repeats)]
    return {
        "flow_built": {
            "cfd_s": statistics.median(cfd),
            "ranking_s": statistics.median(ranking),
            "figures_s": statistics.median(every),
            "repeats": repeats,
            "period": period.label,
        }
    }


def probe_setup(email, reader):
    """An API token and the sandbox workflow for the creates (on the 100k database), the
    pages' workflow and item, and what My work holds for `reader` (who reads the pages)."""
    import django

    django.setup()
    from django.db.models import Count

    from handoffs.models import Workflow, WorkItem
    from home.lists import my_lists
    from opshub.accounts.models import ApiToken, User

    user = User.objects.get(email=email)
    _, token = ApiToken.issue(user=user, name="make bench")
    workflow = (
        Workflow.objects.filter(is_sandbox=True, stages__isnull=False).order_by("pk").first()
        or Workflow.objects.filter(stages__isnull=False).order_by("pk").first()
    )
    dash = Workflow.objects.filter(is_sandbox=False, stages__isnull=False).order_by("pk").first()
    # An open item with history, past its first stage: its page has a timeline to show
    # and its forecast a remaining path to simulate.
    open_item = (
        WorkItem.objects.open()
        .filter(workflow=dash)
        .exclude(stage=dash.stages.order_by("position").first())
        .annotate(events_n=Count("events"))
        .order_by("-events_n", "pk")
        .first()
    )
    return {
        "token": token,
        "workflow": workflow.pk,
        "filter_workflow": dash.pk,
        "open_item": open_item.pk,
        "open_item_events": open_item.events_n,
        # What My work shows the person the bench signs in as: it must not be an empty page.
        "my_work_rows": {
            name: len(rows) for name, rows in my_lists(User.objects.get(email=reader)).items()
        },
    }


def probe_enqueue_rebuild():
    import django

    django.setup()
    from scoreboard.tasks import snapshot_rebuild_task

    snapshot_rebuild_task.delay()
    return {"sent": True}


def measure_celery(env):
    """Peak RSS of a Celery worker (prefork, as deployed) while it runs the full recompute."""
    log_path = ROOT / "bench-results" / "celery.log"
    with open(log_path, "w") as log_file:
        worker = subprocess.Popen(  # noqa: S603
            [
                PY, "-m", "celery", "-A", "opshub", "worker", "--concurrency", "1",
                "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                "--hostname", f"bench-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for(log_path, "ready.", worker, 90)
        sampler = RssSampler(lambda: [worker.pid] + _children(worker.pid))
        sampler.start()
        run_probe("enqueue-rebuild", env)
        match = _wait_for(log_path, r"scoreboard\.rebuild\[[^\]]+\] succeeded in ([\d.]+)s", worker)
        return {"peak_mb": sampler.peak_mb(), "task_s": float(match.group(1))}
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _children(pid):
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _wait_for(path, pattern, proc, timeout=1800):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text())
        if match:
            return match
        if proc.poll() is not None:
            raise RuntimeError(f"the Celery worker exited; see {path}")
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {pattern!r} in {path}")


# --- Verdicts, table, files ------------------------------------------------------------------


def verdicts(r):
    pages, trivial = r["pages"], r["pages"]["trivial"]["p95_ms"]

    def page_ratio(name, limit):
        value = pages[name]["p95_ms"] / trivial
        return (
            value,
            value <= limit,
            f"{value:.2f}× (p95 {pages[name]['p95_ms']} ms vs {trivial} ms)",
        )

    rows = {}
    for name, limit in (
        ("dashboard_full", 3),
        ("dashboard_partial", 3),
        ("board", 3),
        ("item_page", 3),
        ("flow", 3),
        ("item_forecast", 3),
        ("list_filtered", 3),
        ("list_search", 3),
        ("my_work", 2),
    ):
        rows[name] = page_ratio(name, limit)
    small, big = pages["dashboard_full_10k"], pages["dashboard_full"]
    growth50 = big["p50_ms"] / small["p50_ms"]
    growth95 = big["p95_ms"] / small["p95_ms"]
    rows["dashboard_growth"] = (
        growth95,
        growth95 <= 1.3,
        f"{growth95:.2f}× p95 ({small['p95_ms']} → {big['p95_ms']} ms); p50 {growth50:.2f}×",
    )
    rc = r["recompute"]
    ratio = rc["rebuild_s"] / rc["bare_s"]
    rows["recompute"] = (
        ratio, ratio <= 3, f"{ratio:.2f}× ({rc['rebuild_s']:.2f} s vs {rc['bare_s']:.2f} s)"
    )  # fmt: skip
    inc = r["incremental"]["median_ms"]
    rows["incremental"] = (inc, inc <= 20, f"{inc:.1f} ms median of {r['incremental']['n']}")
    for name in ("scan", "scan_all_open"):
        s = r[name]
        ratio = s["scan_s"] / s["bare_s"]
        rows[name] = (
            ratio,
            ratio <= 3 and s["scan_s"] < 1,
            f"{ratio:.2f}× ({s['scan_s'] * 1000:.0f} ms vs {s['bare_s'] * 1000:.0f} ms; "
            f"{s['open_items']:,} open, {s['stalled']:,} stalled)",
        )
    api = r["api"]
    ratio = api["creates_per_s"] / api["trivial_per_s"]
    rows["api_creates"] = (
        ratio,
        ratio >= 0.25,
        f"{ratio:.2f}× ({api['creates_per_s']}/s vs {api['trivial_per_s']}/s)",
    )
    rows.update(log_verdicts(r))
    fc = r["workflow_forecast"]
    worst = max(fc["when_s"], fc["how_many_s"])
    rows["workflow_forecast"] = (
        worst,
        worst <= 1,
        f"{fc['when_s'] * 1000:.0f} ms (when) / {fc['how_many_s'] * 1000:.0f} ms (how many), "
        f"{fc['simulations']:,} simulations",
    )
    built = r["flow_built"]
    worst = max(built["cfd_s"], built["ranking_s"])
    rows["flow_built"] = (
        worst,
        worst <= 1,
        f"CFD {built['cfd_s'] * 1000:.0f} ms, ranking {built['ranking_s'] * 1000:.0f} ms "
        f"(all the page's figures {built['figures_s'] * 1000:.0f} ms; median of "
        f"{built['repeats']}, {built['period']})",
    )
    rows["web_rss"] = (r["web_rss_mb"], r["web_rss_mb"] <= 250, f"{r['web_rss_mb']} MB peak")
    rows["celery_rss"] = (
        r["celery"]["peak_mb"],
        r["celery"]["peak_mb"] <= 300,
        f"{r['celery']['peak_mb']} MB peak (recompute took {r['celery']['task_s']:.1f} s)",
    )
    return {
        name: {"target": TARGETS[name], "value": round(v, 3), "pass": ok, "detail": detail}
        for name, (v, ok, detail) in rows.items()
    }


def log_verdicts(r):
    """The event-log rows: import against COPY, discovery against pm4py."""
    rows = {}
    if "import" in r:
        imp = r["import"]
        ratio = imp["import_s"] / imp["copy_bare_s"]
        rows["import_copy"] = (
            ratio,
            ratio <= 3,
            f"{ratio:.2f}× ({imp['import_s']:.1f} s vs {imp['copy_bare_s']:.1f} s for "
            f"{imp['event_rows']:,} rows; {imp['copy_checked_s']:.1f} s with the foreign keys)",
        )
    if "discovery" in r:
        d = r["discovery"]
        ratio = d["discovery_s"] / d["pm4py_s"]
        rows["discovery"] = (
            ratio,
            ratio <= 2,
            f"{ratio:.2f}× ({d['discovery_s']:.2f} s vs {d['pm4py_s']:.2f} s)",
        )
    return rows


def table(results):
    lines = ["| target | measured | result |", "| --- | --- | --- |"]
    for v in results["verdicts"].values():
        lines.append(f"| {v['target']} | {v['detail']} | {'PASS' if v['pass'] else 'FAIL'} |")
    return "\n".join(lines)


def pages_table(results):
    lines = ["| page | p50 ms | p95 ms | requests | errors |", "| --- | --- | --- | --- | --- |"]
    for name, p in results["pages"].items():
        lines.append(f"| {name} | {p['p50_ms']} | {p['p95_ms']} | {p['n']} | {p['errors']} |")
    return "\n".join(lines)


def machine():
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_doc(results):
    big, small, imp = results["datasets"]["big"], results["datasets"]["small"], results["import"]
    block = "\n".join(
        [
            DOC_BEGIN,
            f"Last run: {results['finished_at']} on {results['machine']['cpus']} CPUs, "
            f"{results['machine']['memory_gb']} GB, Python {results['machine']['python']}, "
            f"PostgreSQL {results['postgres']}; load average at start "
            f"{results['machine']['load_average_at_start']} (other work on the machine).",
            "",
            f"Data: {big['items']:,} items / {big['events']:,} events ({big['open_items']:,} open, "
            f"{big['facts']:,} snapshot facts, {big['database_size']}; seeded in "
            f"{big.get('seed_seconds')} s) over {big['days']} days, and {small['items']:,} items "
            f"/ {small['events']:,} events over {small['days']} days (the same rate of work, a "
            f"tenth of the history; seeded in {small.get('seed_seconds')} s).",
            "",
            table(results),
            "",
            f"Pages, {CLIENTS} concurrent clients, {results['rounds']} interleaved rounds:",
            "",
            pages_table(results),
            "",
            f"import_events of bpic2012.csv (164,506 events, 13,087 cases): "
            f"{imp['import_s']:.1f} s; a bare COPY of the {imp['event_rows']:,} event rows it "
            f"writes into a table like handoffs_event: {imp['copy_bare_s']:.1f} s "
            f"({imp['copy_checked_s']:.1f} s with the table's foreign keys checked); pm4py "
            f"computing case durations from the same CSV: {imp['pm4py_s']:.1f} s (the import "
            "also writes every item and snapshot fact, in one transaction).",
            "",
            f"Full recompute on the Celery worker: {results['celery']['task_s']:.1f} s.",
            DOC_END,
        ]
    )
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    if DOC_BEGIN in text and DOC_END in text:
        head, rest = text.split(DOC_BEGIN, 1)
        text = head + block + rest.split(DOC_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    DOC.write_text(text)


# --- Main ------------------------------------------------------------------------------------


# The servers a bench measures on when DATABASE_URL / REDIS_URL are unset: the ones a
# production-like machine runs (this project's machines do). Only when they do not answer
# does the bench start the embedded ones, which `make run` uses for a demo.
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/14"


def _answers(url, kind):
    try:
        if kind == "postgres":
            import psycopg

            psycopg.connect(url, connect_timeout=3).close()
        else:
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception:  # any failure means "not there": fall back to embedded
        return False
    return True


def services(stack):
    """The PostgreSQL server and Redis to use: the environment's, the local ones, or
    embedded ones."""
    from embedded import Postgres, Redis, StateDir

    state = StateDir(ROOT / ".data" / "bench-run")
    state.lock("make bench")
    state.stop_leftovers()
    db, redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not db and _answers(LOCAL_POSTGRES, "postgres"):
        db = LOCAL_POSTGRES
        log(f"PostgreSQL: the local server ({LOCAL_POSTGRES}; set DATABASE_URL for another)")
    if not redis and _answers(LOCAL_REDIS, "redis"):
        redis = LOCAL_REDIS
        log(f"Redis: the local server ({LOCAL_REDIS}; set REDIS_URL for another)")
    if not db:
        postgres = Postgres(ROOT / ".data" / "bench-pg", state)
        db = postgres.start()
        stack.append(postgres.stop)
    if not redis:
        server = Redis(ROOT / ".data" / "bench-redis", state)
        redis = server.start()
        stack.append(server.stop)
    return db, redis


def measure_event_log(db_url, scratch, scratch_env):
    recreate_database(db_url, scratch)
    manage(scratch_env, "migrate", "--verbosity", "0")
    found = {"import": run_probe("import", scratch_env, str(EVENT_LOG), "1")}
    recreate_database(db_url, scratch)
    found["discovery"] = run_probe("discovery", scratch_env, str(EVENT_LOG), "3")
    return found


def eventlog_only(args):
    """`scripts/bench.py --only eventlog`: the event-log rows alone, on a scratch database."""
    cleanup = []
    try:
        db_url, redis_url = services(cleanup)
        os.environ["REDIS_URL"] = redis_url
        scratch = f"{args.db_name}_scratch"
        results = measure_event_log(db_url, scratch, django_env(with_database(db_url, scratch)))
        verdict = log_verdicts(results)
        out = ROOT / "bench-results" / "eventlog.json"
        out.write_text(json.dumps({**results, "verdicts": verdict}, indent=2) + "\n")
        for name, (_, ok, detail) in verdict.items():
            print(f"| {TARGETS[name]} | {detail} | {'PASS' if ok else 'FAIL'} |")
        return 0 if all(ok for _, ok, _ in verdict.values()) else 1
    finally:
        for stop in reversed(cleanup):
            stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--small-items", type=int, default=10_000)
    # The same rate of work over a tenth of the history: the growth ratio is about years
    # of history, not about a ten times busier organisation.
    parser.add_argument("--small-days", type=int, default=73)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reseed", action="store_true", help="Seed fresh data sets.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=48, help="Requests per page per round.")
    parser.add_argument("--api-seconds", type=float, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="Repeats of each timed probe.")
    parser.add_argument("--db-name", default=os.environ.get("BENCH_DB", "opshub_bench"))
    parser.add_argument("--no-doc", action="store_true", help="Do not rewrite docs/benchmarks.md.")
    parser.add_argument(
        "--only",
        choices=["eventlog"],
        help="Run one step alone: eventlog = import vs COPY and discovery vs pm4py.",
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("probe_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(PROBES[args.probe](*args.probe_args)))
        return 0

    (ROOT / "bench-results").mkdir(exist_ok=True)
    if args.only:
        return eventlog_only(args)
    cleanup = []
    servers = []
    try:
        db_url, redis_url = services(cleanup)
        os.environ["REDIS_URL"] = redis_url
        big_name, small_name = args.db_name, f"{args.db_name}_10k"
        results = {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "days": args.days,
            "rounds": args.rounds,
            "datasets": {},
        }
        for key, name, items, days in (
            ("big", big_name, args.items, args.days),
            ("small", small_name, args.small_items, args.small_days),
        ):
            facts = ensure_dataset(db_url, name, items, days, args)
            vacuum(with_database(db_url, name))
            counts = dataset_counts(with_database(db_url, name))
            results["datasets"][key] = {**facts, **counts, "days": days}
            log(f"{name}: {results['datasets'][key]}")
        # API creates write rows: they go to a copy, so the data sets stay as seeded.
        scratch = f"{args.db_name}_scratch"
        recreate_database(db_url, scratch, template=big_name)
        scratch_env = django_env(with_database(db_url, scratch))
        big_env = django_env(with_database(db_url, big_name))
        small_env = django_env(with_database(db_url, small_name))
        with admin_connect(db_url) as conn:
            results["postgres"] = conn.execute("SHOW server_version").fetchone()[0]

        log("collectstatic ...")
        manage(big_env, "collectstatic", "--noinput", "--verbosity", "0")
        setup = run_probe("setup", scratch_env, "admin@example.com", USER)
        log(f"My work of {USER}: {setup['my_work_rows']}")

        log("starting gunicorn (2 workers) on both data sets ...")
        big = Server(big_env, "100k").start()
        servers.append(big)
        small = Server(small_env, "10k").start()
        servers.append(small)
        api = Server(scratch_env, "api").start()
        servers.append(api)
        password = os.environ.get("OPSHUB_DEMO_PASSWORD", "opshub-demo")
        cookie_big, cookie_small = (
            login(big.port, USER, password),
            login(small.port, USER, password),
        )
        cookie_api = login(api.port, USER, password)
        rss = RssSampler(big.worker_pids)
        rss.start()
        hx = {"HX-Request": "true"}
        filtered = f"/work/?state=all&workflow={setup['filter_workflow']}&age=30"
        endpoints = {
            "trivial": (big.port, "/ping/", {"Cookie": cookie_big}),
            "dashboard_full": (big.port, "/", {"Cookie": cookie_big}),
            "dashboard_partial": (big.port, "/", {"Cookie": cookie_big, **hx}),
            "dashboard_full_10k": (small.port, "/", {"Cookie": cookie_small}),
            "dashboard_partial_10k": (small.port, "/", {"Cookie": cookie_small, **hx}),
            "board": (big.port, f"/work/board/{setup['filter_workflow']}/", {"Cookie": cookie_big}),
            # The item page with its forecast: rendered in the page once the workflow's
            # model is built, else loaded right after it (htmx), fetched only then.
            "item_page": (
                big.port,
                (
                    (f"/work/{setup['open_item']}/", {}),
                    (f"/scoreboard/items/{setup['open_item']}/forecast/", hx),
                ),
                {"Cookie": cookie_big},
            ),
            # The forecast model is built by the warm-up's first requests, then kept in Redis.
            "item_forecast": (
                big.port,
                f"/api/v1/work-items/{setup['open_item']}/forecast/",
                {"Cookie": cookie_big},
            ),
            "flow": (
                big.port,
                f"/scoreboard/workflows/{setup['filter_workflow']}/flow/",
                {"Cookie": cookie_big},
            ),
            "list_filtered": (big.port, filtered, {"Cookie": cookie_big}),
            "list_search": (big.port, "/work/?state=all&q=globex", {"Cookie": cookie_big}),
            "my_work": (big.port, "/work/mine/", {"Cookie": cookie_big}),
        }
        log(f"pages: {args.rounds} rounds × {args.per_round} requests × {len(endpoints)} pages ...")
        results["pages"] = measure_pages(endpoints, args.rounds, args.per_round)
        log("API creates ...")
        results["api"] = measure_api(
            api.port, cookie_api, setup["token"], setup["workflow"], args.rounds, args.api_seconds
        )
        results["web_rss_mb"] = rss.peak_mb()
        for server in servers:
            server.stop()
        servers.clear()

        log("recompute, incremental update and stall scan (several minutes) ...")
        db = run_probe("db", big_env, str(args.repeats))
        results.update(db)
        log("workflow forecast (10,000 simulations) ...")
        results.update(run_probe("forecast", big_env, str(args.repeats)))
        log("CFD and handoff ranking built cold ...")
        results.update(run_probe("flow", big_env, str(args.repeats)))
        log("Celery worker memory during the full recompute ...")
        results["celery"] = measure_celery(big_env)

        log("import_events vs COPY, discovery vs pm4py ...")
        results.update(measure_event_log(db_url, scratch, scratch_env))

        results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        results["verdicts"] = verdicts(results)
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
        if not args.no_doc:
            write_doc(results)
        print()
        print(table(results))
        print()
        print(pages_table(results))
        failed = [n for n, v in results["verdicts"].items() if not v["pass"]]
        print(f"\n{len(results['verdicts']) - len(failed)} PASS, {len(failed)} FAIL"
              + (f": {', '.join(failed)}" if failed else ""))  # fmt: skip
        log(
            f"wrote {RESULTS.relative_to(ROOT)}"
            + ("" if args.no_doc else " and docs/benchmarks.md")
        )
        return 1 if failed else 0
    finally:
        for server in servers:
            server.stop()
        for stop in reversed(cleanup):
            stop()


PROBES = {
    "db": lambda repeats="3": probe_db(int(repeats)),
    "import": lambda path, repeats="1": probe_import(path, int(repeats)),
    "discovery": lambda path, repeats="3": probe_discovery(path, int(repeats)),
    "setup": probe_setup,
    "forecast": lambda repeats="3": probe_forecast(int(repeats)),
    "flow": lambda repeats="3": probe_flow(int(repeats)),
    "enqueue-rebuild": probe_enqueue_rebuild,
}

if __name__ == "__main__":
    sys.exit(main())
