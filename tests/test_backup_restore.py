"""The restore drill from docs/operations.md, performed on a small database: pg_dump the
test database, pg_restore it into a fresh one, and compare what matters.

Uses the PostgreSQL client binaries on this machine; skips, saying so, where they are
missing.
"""

import os
import shutil
import subprocess

import pytest
from django.db import connection

from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db(transaction=True)

# The tables a restore must bring back whole: the work, its append-only history, the rules.
KEY_TABLES = [
    "accounts_user",
    "handoffs_team",
    "handoffs_workflow",
    "handoffs_stage",
    "handoffs_protocolversion",
    "handoffs_workitem",
    "handoffs_event",
    "handoffs_recovery",
    "accounts_auditentry",
    "django_migrations",
]
BINARIES = ("pg_dump", "pg_restore", "psql", "createdb", "dropdb")


def _connection_args():
    db = connection.settings_dict
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    return [*args, "-U", db["USER"]] if db["USER"] else args


def _run(*command):
    env = {"PGPASSWORD": connection.settings_dict.get("PASSWORD") or ""}
    return subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def _counts(dbname):
    sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in KEY_TABLES)  # noqa: S608
    out = _run("psql", *_connection_args(), "-d", dbname, "-At", "-F", ",", "-c", sql).stdout
    return dict(line.split(",") for line in out.splitlines())


@pytest.fixture
def restored_db_name():
    name = connection.settings_dict["NAME"] + "_restore_drill"
    yield name
    _run("dropdb", *_connection_args(), "--if-exists", name)


def test_a_dump_restores_into_a_fresh_database_with_every_row(
    tmp_path, restored_db_name, workflow, seller, lead
):
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        pytest.skip(f"PostgreSQL client binaries not installed: {', '.join(missing)}")
    for n in range(3):
        item = services.work_item_create(workflow=workflow, title=f"Order {n}", by=seller)
        item = transitions.handoff_submit(
            item=item, by=seller, checklist=["signed"], fields={"po_number": "P", "amount": "1"}
        )
        transitions.handoff_accept(item=item, by=lead)
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "opshub.dump"

    # The commands docs/operations.md gives an operator, verbatim apart from the names.
    _run("pg_dump", *_connection_args(), "-Fc", "--no-owner", "-f", str(dump), source)
    _run("dropdb", *_connection_args(), "--if-exists", restored_db_name)
    _run("createdb", *_connection_args(), restored_db_name)
    _run("pg_restore", *_connection_args(), "--no-owner", "-d", restored_db_name, str(dump))

    before, after = _counts(source), _counts(restored_db_name)
    assert after == before
    assert int(after["handoffs_event"]) >= 9
    # The append-only trigger came back with the data: history stays uneditable.
    result = subprocess.run(
        ["psql", *_connection_args(), "-d", restored_db_name, "-c", "DELETE FROM handoffs_event"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert _counts(restored_db_name)["handoffs_event"] == after["handoffs_event"]
