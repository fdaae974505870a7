"""The docs' copy-paste "deal closed" example, run as written: curl and openssl in bash."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from handoffs.models import IntakeSource, WorkItem

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def _example():
    text = DOC.read_text()
    marker = text.index("<!-- deal-closed-example")
    return re.search(r"```sh\n(.*?)```", text[marker:], re.DOTALL).group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="no curl")
def test_the_documented_deal_closed_webhook_makes_exactly_one_item(
    live_server, workflow, lead, admin_user
):
    source = IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        secret="whsec_docs-example",
        workflow=workflow,
        stage=workflow.stages.get(name="Ship"),
        mapping={
            "title": "{deal.company}: {deal.name}",
            "external_ref": "deal.id",
            "requested_at": "deal.closed_at",
            "fields": {"po_number": "deal.po", "amount": "deal.amount"},
        },
        event_id_path="event.id",
    )
    env = {**os.environ, "OPSHUB_URL": live_server.url, "SECRET": source.secret}

    def run():
        return subprocess.run(
            ["bash", "-eu", "-c", _example()], env=env, capture_output=True, text=True, timeout=30
        )

    first, replay = run(), run()

    assert '"status":"accepted"' in first.stdout, first.stdout + first.stderr
    assert '"status":"duplicate"' in replay.stdout
    item = WorkItem.objects.get()
    assert (item.title, item.stage.team, item.assignee) == (
        "Northwind: Spring rollout",
        lead.led_teams.get(),
        lead,
    )
