"""seed_demo step: a CRM intake source with a few deliveries, and one outbound subscription."""

import json
import time

from handoffs.integrations import intake, webhooks
from handoffs.integrations.models import IntakeSource
from handoffs.workflows.models import Stage
from opshub.accounts.models import User
from opshub.lib import signing


def _deal(number, name, company, amount):
    return {
        "event": {"id": f"evt_demo_{number}", "type": "deal.closed"},
        "deal": {
            "id": f"CRM-{number}",
            "name": name,
            "company": company,
            "closed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "po": f"PO-{number}",
            "amount": amount,
        },
    }


def _post(source, payload, *, secret=None):
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Opshub-Timestamp": timestamp,
        "X-Opshub-Signature": signing.sign(secret or source.secret, timestamp, body),
    }
    return intake.intake_receive(source=source, headers=headers, body=body)


def seed_integrations(ctx):
    admin = User.objects.get(email="admin@example.com")
    workflow = ctx["workflows"]["Order to delivery"]
    stage = Stage.objects.get(workflow=workflow, name="Ready to ship")
    rng = ctx["rng"]
    source = IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        secret=signing.new_secret(),
        workflow=workflow,
        stage=stage,
        mapping={
            "title": "{deal.company}: {deal.name}",
            "external_ref": "deal.id",
            "requested_at": "deal.closed_at",
            "fields": {"po_number": "deal.po", "order_value": "deal.amount"},
        },
        event_id_path="event.id",
        created_by=admin,
    )
    deals = [
        _deal(9001 + n, name, company, rng.randrange(2, 90) * 500)
        for n, (name, company) in enumerate(
            [("Spring rollout", "Northwind"), ("Pilot, 40 seats", "Globex")]
        )
    ]
    for deal in deals:
        _post(source, deal)
    _post(source, deals[0])  # a replay: logged as a duplicate, creates nothing
    _post(source, _deal(9100, "Forged", "Nobody", 1), secret=signing.new_secret())  # forged
    _post(source, {"event": {"id": "evt_demo_bad"}, "deal": {"name": "No id"}})
    subscription = webhooks.subscription_create(
        name="ERP order feed (example)",
        url="http://127.0.0.1:9/opshub-events",
        event_kinds=["handoff_accepted", "delivered"],
        by=admin,
    )
    # Paused: the example URL answers nothing; point it at a real receiver, then resume.
    subscription.is_active = False
    subscription.save(update_fields=["is_active"])
    ctx["intake_source"] = source
