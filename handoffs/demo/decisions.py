"""Demo decision rights for seed_demo: a matrix per workflow and a history of decisions.

Runs after the items exist. Closed history is written as rows and events directly (no
notifications for last quarter's decisions); the recent ones go through the services, so
approvers find red requests in their inbox and the informed people have notifications.
"""

import datetime

from django.utils import timezone

from handoffs.decisions import rules as rights
from handoffs.decisions import services as decision_services
from handoffs.decisions.models import Decision, DecisionType
from handoffs.work.models import Event, WorkItem
from handoffs.workflows.models import Workflow
from opshub.accounts.models import User
from opshub.mail.models import EmailDelivery, Notification

G, Y, R = "green", "yellow", "red"

# workflow → [(key, name, good looks like, {role: (level, routing)}, {team: {role: level}})]
# Routing: ("inform", team name) informs that team's lead; ("approve", team name) asks its lead.
MATRIX = {
    "Order to delivery": [
        (
            "discount_10",
            "Discount up to 10%",
            "Within the price list's band, margin stays above 25%, and the reason is on the deal.",
            {"lead": (G, None), "member": (Y, ("inform", "Sales"))},
            {"Sales": {"member": G}},
        ),
        (
            "discount_over_10",
            "Discount over 10%",
            "Only for a multi-year deal or a reference customer; Finance has seen the margin.",
            {"lead": (Y, ("inform", "Finance")), "member": (R, ("approve", "Sales"))},
            {},
        ),
        (
            "refund",
            "Refund under €500",
            "The customer is told the same day, the cause is logged, and the refund matches "
            "the invoice line.",
            {"lead": (G, None), "member": (Y, ("inform", "Finance"))},
            {},
        ),
        (
            "contract_change",
            "Change contract terms",
            "Legal has read the clause; payment terms stay within 60 days.",
            {"lead": (R, ("approve", "Legal")), "member": (R, ("approve", "Legal"))},
            {},
        ),
        (
            "expedite",
            "Expedite shipping at our cost",
            "Only when we caused the delay; the carrier upgrade costs under €150.",
            {"lead": (G, None), "member": (Y, ("inform", "Fulfilment"))},
            {},
        ),
    ],
    "Client onboarding": [
        (
            "extend_trial",
            "Extend the trial by up to 14 days",
            "The client is actively configuring and has a named sponsor.",
            {"lead": (G, None), "member": (Y, ("inform", "Customer Success"))},
            {},
        ),
        (
            "custom_integration",
            "Promise custom integration work",
            "Scoped in writing, priced, and Support knows who maintains it.",
            {"lead": (R, ("approve", "Support")), "member": (R, ("approve", "Customer Success"))},
            {},
        ),
        (
            "waive_setup_fee",
            "Waive the setup fee",
            "The client signed for at least two years.",
            {"lead": (Y, ("inform", "Finance")), "member": (R, ("approve", "Customer Success"))},
            {},
        ),
    ],
    "Content production": [
        (
            "skip_legal",
            "Publish without legal review",
            "Only for corrections of facts already published; Legal is told the same day.",
            {"lead": (R, ("approve", "Legal")), "member": (R, ("approve", "Legal"))},
            {},
        ),
        (
            "freelancer",
            "Commission a freelancer under €1,000",
            "The brief is written, the rate is from the rate card, and the budget line has room.",
            {"lead": (G, None), "member": (Y, ("inform", "Content"))},
            {},
        ),
    ],
}

ORG_WIDE = (
    "client_gift",
    "Send a client gift over €50",
    "Once a year per client at most, never during a tender.",
    {"lead": (G, None), "member": (Y, ("inform", "Finance"))},
)

SUMMARIES = {
    "discount_10": ["8% for a 3-year renewal", "5% to match a competitor quote", "10% volume deal"],
    "discount_over_10": ["15% for a reference customer", "12% to close before quarter end"],
    "refund": ["€120 refund for a damaged parcel", "€340 refund for a late delivery"],
    "contract_change": ["Net 60 payment terms", "Liability cap raised to 2× fees"],
    "expedite": ["Overnight courier, we missed the slot", "Upgrade to express after a mis-pick"],
    "extend_trial": ["Trial +10 days, IT still configuring SSO", "Trial +14 days for a pilot"],
    "custom_integration": ["Nightly CSV export to their ERP", "Webhook into their ticketing"],
    "waive_setup_fee": ["Setup fee waived for a 3-year deal"],
    "skip_legal": ["Fix a wrong price in a published post"],
    "freelancer": ["Illustrations for the spring guide", "Copy-edit of the product pages"],
    rights.OVERRIDE_CHECKLIST: ["Ship before the signed PO arrives"],
    rights.CHANGE_DUE_DATE: ["Customer moved the launch by a week", "New date after a delay"],
    "client_gift": ["Hamper for the 5-year anniversary", "Tickets for the client's team day"],
}
WHY = [
    "The customer asked on the call today.",
    "Keeps a long-standing client happy; the cost is small.",
    "Otherwise the deal slips into next quarter.",
    "We caused the problem; this fixes it fastest.",
]


def seed_decisions(ctx):
    rng, teams = ctx["rng"], ctx["teams"]
    admin = User.objects.get(email="admin@example.com")
    org = DecisionType(workflow=None, name=ORG_WIDE[1], good_looks_like=ORG_WIDE[2], position=50)
    org.key = ORG_WIDE[0]
    rights.decision_type_save(decision_type=org, by=admin)
    _rights(org, ORG_WIDE[3], {}, teams, by=admin)
    for workflow in Workflow.objects.order_by("pk"):
        DecisionType.objects.ensure_builtins(workflow)
        editor = next((s.team.lead for s in workflow.stages.order_by("position")), admin)
        for position, (key, name, good, levels, per_team) in enumerate(
            MATRIX.get(workflow.name, [])
        ):
            decision_type = DecisionType(
                workflow=workflow, key=key, name=name, good_looks_like=good, default_level=Y
            )
            decision_type.position = 10 + position
            rights.decision_type_save(decision_type=decision_type, by=editor)
            _rights(decision_type, levels, per_team, teams, by=editor)
    _history(rng, ctx)
    _recent(rng, ctx)
    ctx["decisions"] = Decision.objects.count()


def _rights(decision_type, levels, per_team, teams, by):
    for role, (level, routing) in levels.items():
        kind, team_name = routing or (None, None)
        team = teams.get(team_name)
        rights.matrix_set_right(
            decision_type=decision_type,
            role=role,
            team=None,
            by=by,
            level=level,
            inform_users=[team.lead] if kind == "inform" else [],
            inform_team=None,
            approver=team.lead if kind == "approve" else None,
            approver_team=None,
        )
    for team_name, cells in per_team.items():
        for role, level in cells.items():
            rights.matrix_set_right(
                decision_type=decision_type, role=role, team=teams[team_name], by=by, level=level
            )


def _people(team):
    return [team.lead, *team.members.exclude(pk=team.lead_id).order_by("pk")]


# Past decisions are written one by one (a handful of queries each): at benchmark scale
# (100,000 items) a quarter of the items would take most of the seed's time, and the
# decision log needs a history, not tens of thousands of rows.
HISTORY_LIMIT = 2500


def _history(rng, ctx):
    """Decisions on delivered items, written in the past between two of the item's events."""
    delivered = list(
        WorkItem.objects.filter(state=WorkItem.State.DONE)
        .select_related("workflow", "stage__team__lead")
        .order_by("pk")[: min(max(ctx["items"] // 4, 10), HISTORY_LIMIT)]
    )
    # Asked again and again for the same few workflows, teams and cells.
    options_of, people_of, cells = {}, {}, {}
    for item in delivered:
        events = list(item.events.select_related("to_stage__team").order_by("at", "pk")[:2])
        if len(events) < 2 or events[0].to_stage is None:
            continue
        stage, start, end = events[0].to_stage, events[0].at, events[1].at
        if end - start < datetime.timedelta(hours=2):
            continue
        if item.workflow_id not in options_of:
            options_of[item.workflow_id] = [
                t
                for t in DecisionType.objects.for_workflow(item.workflow)
                if t.key in SUMMARIES
                and t.key not in (rights.OVERRIDE_CHECKLIST, rights.CHANGE_DUE_DATE)
            ]
        options = options_of[item.workflow_id]
        if not options:
            continue
        decision_type = rng.choice(options)
        if stage.team_id not in people_of:
            people_of[stage.team_id] = _people(stage.team)
        requester = rng.choice(people_of[stage.team_id])
        _past_decision(rng, item, stage, decision_type, requester, start, end, cells)


def _past_decision(rng, item, stage, decision_type, requester, start, end, cells):
    role = rights.DecisionRole.LEAD if stage.team.lead_id == requester.pk else "member"
    key = (decision_type.pk, role, stage.team_id)
    if key not in cells:
        cells[key] = rights.cell_for(decision_type, role, stage.team)
    cell = cells[key]
    span = (end - start).total_seconds()
    at = start + datetime.timedelta(seconds=span * rng.uniform(0.1, 0.4))
    summary = rng.choice(SUMMARIES[decision_type.key])
    common = {
        "item": item,
        "decision_type": decision_type,
        "requester": requester,
        "role": role,
        "level": cell.level,
        "summary": summary,
        "why": rng.choice(WHY),
        "requested_at": at,
    }
    payload = {
        "decision_type": decision_type.key,
        "decision_type_name": decision_type.name,
        "level": cell.level,
        "role": role,
        "summary": summary,
    }
    if cell.level != R:
        decision = Decision.objects.create(**common, status=Decision.Status.RECORDED, decided_at=at)
        Event.objects.create(
            item=item,
            kind=Event.Kind.DECISION_RECORDED,
            at=at,
            actor=requester,
            from_stage=stage,
            payload={**payload, "decision_id": decision.pk},
        )
        return
    approver = rights.approver_for(cell.right, item, requester)
    answered = at + datetime.timedelta(seconds=span * rng.uniform(0.2, 0.5))
    approve = rng.random() < 0.8
    decision = Decision.objects.create(
        **common,
        status=Decision.Status.APPROVED if approve else Decision.Status.DENIED,
        approver=approver,
        decided_by=approver,
        decided_at=answered,
        comment="" if approve else "Not this time: bring it to the weekly review.",
    )
    for kind, moment, actor, extra in (
        (Event.Kind.DECISION_REQUESTED, at, requester, {"approver_id": approver.pk}),
        (
            Event.Kind.DECISION_APPROVED if approve else Event.Kind.DECISION_DENIED,
            answered,
            approver,
            {"paused_seconds": int((answered - at).total_seconds()), "comment": decision.comment},
        ),
    ):
        Event.objects.create(
            item=item,
            kind=kind,
            at=moment,
            actor=actor,
            from_stage=stage,
            payload={**payload, "decision_id": decision.pk, **extra},
        )


def _recent(rng, ctx):
    """This week's decisions through the services: some yellow ones, red ones still waiting."""
    now = timezone.now()
    open_items = list(
        WorkItem.objects.filter(state=WorkItem.State.IN_PROGRESS)
        .select_related("workflow", "stage__team")
        .order_by("pk")[:40]
    )
    rng.shuffle(open_items)
    waiting = recorded = 0
    for item in open_items:
        last = item.events.order_by("-at").values_list("at", flat=True).first() or item.requested_at
        at = last + (now - last) * rng.uniform(0.3, 0.9)
        members = [p for p in _people(item.stage.team) if p.pk != item.stage.team.lead_id]
        if not members:
            continue
        requester = rng.choice(members)
        types = {
            t.key: t for t in DecisionType.objects.for_workflow(item.workflow) if t.key in SUMMARIES
        }
        reds = [t for t in types.values() if rights.level_for(requester, item, t).level == R]
        yellows = [t for t in types.values() if rights.level_for(requester, item, t).level == Y]
        pool = reds if waiting < 5 and reds else yellows
        if not pool:
            continue
        decision_type = rng.choice(pool)
        payload = {}
        if decision_type.key == rights.OVERRIDE_CHECKLIST:
            handoff = item.stage.outgoing_handoff()
            version = handoff.published() if handoff else None
            if version is None or not version.required_checklist_ids():
                continue
            payload = {"checklist": version.required_checklist_ids()[:1]}
        elif decision_type.key == rights.CHANGE_DUE_DATE:
            payload = {
                "due_date": (now + datetime.timedelta(days=rng.randint(7, 30))).date().isoformat()
            }
        decision = decision_services.decision_record(
            item=item,
            by=requester,
            decision_type=decision_type,
            summary=rng.choice(SUMMARIES[decision_type.key]),
            why=rng.choice(WHY),
            payload=payload,
            at=at,
        )
        waiting += decision.status == Decision.Status.PENDING
        recorded += 1
        if recorded >= 12:
            break
    # The demo's notifications are for looking at, not for mailing out at seed time.
    EmailDelivery.objects.filter(
        kind=EmailDelivery.Kind.NOTIFICATION,
        status=EmailDelivery.Status.PENDING,
        created_at__gte=now,
    ).delete()
    Notification.objects.filter(awaits_digest=True, created_at__gte=now).update(awaits_digest=False)
