"""`make test` after the lint step: Django's checks, then pytest.

Uses DATABASE_URL / REDIS_URL when set (CI sets them, see .ci/run); otherwise
starts an embedded PostgreSQL and Redis under .data/test/ for the duration of
the run and stops them afterwards.

Browser tests need /usr/bin/chromium. When it is missing this tries
`apt-get install chromium` (as root); if that fails the browser tests are
skipped with a loud warning, except with CI=true, where the run fails.

Arguments are passed on to pytest: `make test PYTEST_ARGS="-k handoff -x"`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from embedded import EmbeddedError, Postgres, Redis, StateDir, log

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".data" / "test"
CHROMIUM = "/usr/bin/chromium"
BUDGET_SECONDS = 10 * 60
# More workers than this mostly wait on the one PostgreSQL server and Chromium.
MAX_WORKERS = 4


class Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _loud(lines: list[str]) -> None:
    bar = "!" * 78
    print(f"\n{bar}", *(f"!!  {line}" for line in lines), f"{bar}\n", sep="\n", flush=True)


def _ensure_chromium() -> bool:
    if Path(CHROMIUM).exists():
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"{CHROMIUM} is missing: installing Debian's chromium (apt-get) ...")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        quiet = {"stdout": subprocess.DEVNULL, "env": env}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)  # noqa: S607
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, **quiet)  # noqa: S607
    return Path(CHROMIUM).exists()


def _run(args: list[str]) -> int:
    return subprocess.run(args, cwd=ROOT, check=False).returncode  # noqa: S603 - fixed commands


def main(pytest_args: list[str]) -> int:
    _set_signals(_on_signal)
    started = time.monotonic()
    servers: list = []  # embedded servers, stopped in reverse order
    try:
        marker_args = _browser_marker_args(ci=_truthy("CI"))
        if marker_args is None:
            return 1
        _start_missing_services(servers)
        os.environ.setdefault("OPSHUB_TESTING", "true")
        os.environ.setdefault("OPSHUB_DEMO_PASSWORD", "opshub-demo")
        return _checks_then_pytest(marker_args, pytest_args)
    except Stop as stop:
        log(f"{stop}: stopping")
        return 130
    except EmbeddedError as error:
        log(f"error: {error}")
        return 1
    finally:
        _set_signals(signal.SIG_IGN)
        for server in reversed(servers):
            server.stop()
        _report_time(time.monotonic() - started)


def _set_signals(handler) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _browser_marker_args(*, ci: bool) -> list[str] | None:
    """[] with Chromium, pytest args that skip browser tests without it; None when CI needs it."""
    if _ensure_chromium():
        return []
    if ci:
        _loud(
            [
                f"{CHROMIUM} is missing and could not be installed.",
                "CI=true: browser tests belong to the suite, so this run FAILS.",
            ]
        )
        return None
    _loud(
        [
            f"{CHROMIUM} is missing and could not be installed:",
            "BROWSER TESTS ARE SKIPPED (pytest -m 'not browser').",
            "Install it (apt-get install chromium) to run the full suite.",
        ]
    )
    return ["-m", "not browser"]


def _start_missing_services(servers: list) -> None:
    """Embedded PostgreSQL / Redis for whichever URL is unset; each is added to servers before
    it starts, so one that fails half-way is still stopped."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return
    state = StateDir(STATE / "run")
    state.lock("make test")
    state.stop_leftovers()
    if not os.environ.get("DATABASE_URL"):
        postgres = Postgres(STATE / "pg", state, durable=False)
        servers.append(postgres)
        postgres.start()
        os.environ["DATABASE_URL"] = postgres.create_database("opshub")
    if not os.environ.get("REDIS_URL"):
        redis = Redis(STATE / "redis", state)
        servers.append(redis)
        os.environ["REDIS_URL"] = redis.start()


def _checks_then_pytest(marker_args: list[str], pytest_args: list[str]) -> int:
    py = sys.executable
    steps = [
        ("makemigrations --check", [py, "manage.py", "makemigrations", "--check", "--dry-run"]),
        ("manage.py check", [py, "manage.py", "check", "--fail-level", "WARNING"]),
    ]
    for name, args in steps:
        log(f"{name} ...")
        if (rc := _run(args)) != 0:
            log(f"FAILED: {name} (exit status {rc})")
            return rc

    workers = _worker_args(pytest_args)
    log(f"pytest {' '.join(workers)} ...")
    rc = _run([py, "-m", "pytest", "--create-db", *workers, *marker_args, *pytest_args])
    if rc == 5:
        # An empty collection is a broken suite, not a green one.
        log("FAILED: pytest collected no tests (exit status 5)")
    elif rc != 0:
        log(f"FAILED: pytest exited with status {rc}")
    if marker_args:
        _loud(["Browser tests were SKIPPED: this was not the full suite."])
    return rc


def _worker_args(pytest_args: list[str]) -> list[str]:
    """One pytest-xdist worker per core (each with its own test database and cache keys),
    a test file to a worker so its module fixtures are built once; none on one core, or
    when the caller chose (`PYTEST_ARGS="-n 0"`)."""
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cores or cores < 2:
        return []
    return ["-n", str(min(cores, MAX_WORKERS)), "--dist", "loadfile"]


def _report_time(elapsed: float) -> None:
    log(f"make test took {elapsed:.0f}s")
    if elapsed > BUDGET_SECONDS * 0.8:
        _loud(
            [
                f"The test run took {elapsed:.0f}s; the budget is {BUDGET_SECONDS}s.",
                "Find the slow tests with PYTEST_ARGS=--durations=20.",
            ]
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
