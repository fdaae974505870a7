"""`make run`: opshub with its worker and scheduler, on one machine, in one terminal.

Uses DATABASE_URL / REDIS_URL when they are set; otherwise starts an embedded
PostgreSQL and Redis under .data/. Then migrates, loads the demo data into an
empty database, and runs the web server, a Celery worker and Celery beat with
their output prefixed. Ctrl-C (or SIGTERM/SIGHUP) stops every process it started.

Environment: PORT (default 8000), DEBUG (default true), OPSHUB_DEMO_PASSWORD
(default opshub-demo), plus everything opshub/settings.py reads.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from embedded import EmbeddedError, Postgres, Redis, StateDir, log, terminate

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
COLORS = {"web": "32", "worker": "36", "beat": "35"}


class Stop(Exception):
    """Raised from the signal handler to unwind into the shutdown path."""


def _on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


# migrate, seed and collect in one interpreter: each Django start-up costs seconds.
PREPARE = """
import sys
import django
from django.core.management import call_command

django.setup()
call_command("migrate", interactive=False, verbosity=0)
# make run is local by definition; --if-empty keeps a database with users untouched. On a
# first load, one order stalls a minute from now, so its alert email shows up in the log.
call_command("seed_demo", if_empty=True, force=True, fresh_stall=True)
if sys.argv[1:] == ["collectstatic"]:
    call_command("collectstatic", interactive=False, verbosity=0)
"""


def prepare(*args: str) -> None:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="opshub.settings")
    subprocess.run([sys.executable, "-c", PREPARE, *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def _pump(name: str, stream, tty: bool) -> None:
    label = f"\033[{COLORS[name]}m{name:>6} |\033[0m " if tty else f"{name:>6} | "
    for line in iter(stream.readline, b""):
        sys.stdout.write(label + line.decode(errors="replace"))
        sys.stdout.flush()


class Procs:
    """The app processes: each in its own session, so a terminal's Ctrl-C reaches
    only this script, which then stops them in order."""

    def __init__(self, state: StateDir):
        self.state = state
        self.running: dict[str, subprocess.Popen] = {}
        self.tty = sys.stdout.isatty()

    def start(self, name: str, args: list[str]) -> None:
        proc = subprocess.Popen(  # noqa: S603 - our own fixed command lines
            args,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running[name] = proc
        self.state.record(name, proc.pid)
        threading.Thread(target=_pump, args=(name, proc.stdout, self.tty), daemon=True).start()

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.running.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self) -> None:
        # The web server first (no new work), then beat (no new schedules), then the
        # worker, which finishes its current task on SIGTERM (warm shutdown).
        for name in ("web", "beat", "worker"):
            proc = self.running.pop(name, None)
            if proc is None:
                continue
            terminate(proc.pid, name, timeout=20)
            proc.wait()
            self.state.forget(name)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As runserver does: connections in TIME_WAIT from a previous run don't count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_web(url: str, procs: Procs, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (dead := procs.exited()) is not None:
            raise EmbeddedError(f"{dead[0]} exited with status {dead[1]} while starting")
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2):  # noqa: S310 - our own URL
                return
        except urllib.error.HTTPError:
            return  # it answers; /healthz reports what is wrong (e.g. 503)
        except OSError:
            time.sleep(0.2)
    raise EmbeddedError(f"the web server did not answer on {url} within {timeout:.0f}s")


def _dev_secret_key() -> str:
    """A per-checkout key, kept across runs so logins survive a restart."""
    path = DATA / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> int:
    _set_signals(_on_signal)
    port = int(os.environ.get("PORT", "8000"))
    url = f"http://127.0.0.1:{port}/"
    DATA.mkdir(exist_ok=True)
    state = StateDir(DATA / "run")
    embedded: dict[str, Postgres | Redis] = {}
    procs = Procs(state)
    started = time.monotonic()
    try:
        state.lock("make run")
        state.stop_leftovers()
        if not _port_free(port):
            raise EmbeddedError(f"port {port} is already in use: set PORT, e.g. PORT=8001 make run")
        debug = _local_environment(url)
        _start_missing_services(state, embedded)
        log("migrating and loading demo data into an empty database ...")
        if debug:
            prepare()
        else:
            prepare("collectstatic")  # runserver serves static files itself only with DEBUG on
        _start_app(procs, port)
        _wait_for_web(url, procs)
        _print_ready(url, time.monotonic() - started, embedded)
        while (dead := procs.exited()) is None:
            time.sleep(0.5)
        log(f"{dead[0]} exited with status {dead[1]}: stopping everything")
        return 1
    except Stop as stop:
        log(f"{stop}: stopping")
        return 0
    except EmbeddedError as error:
        log(f"error: {error}")
        return 1
    except subprocess.CalledProcessError as error:
        log(f"error: preparing the database failed with status {error.returncode}")
        return 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and orphan the servers.
        _set_signals(signal.SIG_IGN)
        procs.stop_all()
        for name in ("redis", "postgres"):
            if name in embedded:
                embedded[name].stop()


def _set_signals(handler) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _local_environment(url: str) -> bool:
    """Local defaults for whatever the environment leaves unset; True when DEBUG is on."""
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", _dev_secret_key())
    os.environ.setdefault("OPSHUB_BASE_URL", url.rstrip("/"))
    os.environ.setdefault("OPSHUB_DEMO_PASSWORD", "opshub-demo")
    os.environ["PYTHONUNBUFFERED"] = "1"
    debug = os.environ["DEBUG"].strip().lower() in ("1", "true", "yes", "on")
    if not debug:
        # Production settings on a plain-HTTP local port: no redirect to https.
        os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
        os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
        os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
    return debug


def _start_missing_services(state: StateDir, embedded: dict) -> None:
    """Embedded PostgreSQL / Redis for whichever URL is unset; each goes into embedded before
    it starts, so one that fails half-way is still stopped."""
    if os.environ.get("DATABASE_URL"):
        log("using DATABASE_URL from the environment")
    else:
        embedded["postgres"] = Postgres(DATA / "pg", state)
        os.environ["DATABASE_URL"] = embedded["postgres"].start()
    if os.environ.get("REDIS_URL"):
        log("using REDIS_URL from the environment")
    else:
        embedded["redis"] = Redis(DATA / "redis", state)
        os.environ["REDIS_URL"] = embedded["redis"].start()


def _start_app(procs: Procs, port: int) -> None:
    py = sys.executable
    celery = [py, "-m", "celery", "-A", "opshub"]
    procs.start(
        "web",
        [py, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
    )
    procs.start(
        "worker",
        [*celery, "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
         "--without-mingle", "--hostname", f"devrun@{socket.gethostname()}"],
    )  # fmt: skip
    procs.start(
        "beat",
        [*celery, "beat", "--loglevel=INFO", "--schedule", str(DATA / "celerybeat-schedule")],
    )


def _print_ready(url: str, seconds: float, embedded: dict) -> None:
    password = os.environ["OPSHUB_DEMO_PASSWORD"]
    database = "embedded PostgreSQL in .data/pg" if "postgres" in embedded else "DATABASE_URL"
    redis = "embedded in .data/redis" if "redis" in embedded else "REDIS_URL"
    print(
        f"\n  opshub is running at {url}  (ready in {seconds:.1f}s)\n"
        f"  demo login: admin@example.com / {password}"
        f"  (also lead@example.com, member@example.com)\n"
        f"  database: {database}; redis: {redis}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
