"""Demo work items with realistic histories, for seed_demo.

Each item's life is simulated in Python (work in a stage, handoff, the wait for
acceptance, sometimes a bounce and its recovery, delivery) and written straight to the
database with past timestamps through bulk_create, in batches: the services stamp
now(), and 100,000 items would take far too long one transaction each. The item's
stage, state, assignee and delivery time are taken from replaying its own events, so
the seeded state always equals the replay.
"""

import datetime
import math

from django.utils import timezone

from handoffs.demo.scale import bulk_insert
from handoffs.work.models import Event, Recovery, WorkItem, replay
from handoffs.workflows.models import Cause, Handoff, ProtocolVersion, Workflow

BATCH = 2000
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)

BOUNCE_RATE = 0.12
BLOCK_RATE = 0.05
CANCEL_RATE = 0.006  # per stage
# A few items get waits several times longer than usual: the demo's stalls.
STUCK_RATE = 0.04
CAUSE_WEIGHTS = [(Cause.PROCESS, 40), (Cause.PERSON, 25), (Cause.EXPECTATION, 20), (Cause.TOOL, 15)]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Vandelay Imports",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Oscorp",
    "Massive Dynamic",
    "Aperture",
    "Gringotts",
    "Monarch",
    "Pied Piper",
    "Dunder Mifflin",
    "Nakatomi",
]
KINDS = ["order", "rollout", "renewal", "pilot", "add-on", "migration", "onboarding", "refit"]


def seed_items(ctx):
    """ctx["items"] items spread over ctx["days"]; most delivered, some open, a few stuck."""
    rng, total, days = ctx["rng"], ctx["items"], ctx["days"]
    plans = [_plan(w) for w in Workflow.objects.order_by("pk")]
    plans = [p for p in plans if p["stages"]]
    if not plans or total == 0:
        return
    weights = [1 if p["workflow"].is_sandbox else 8 for p in plans]
    now = timezone.now()
    for start in range(0, total, BATCH):
        sims = [
            _simulate(rng, rng.choices(plans, weights)[0], now, days, start + i + 1)
            for i in range(min(BATCH, total - start))
        ]
        _write(sims)
    _write(_showcase(rng, plans, now, days, total))
    ctx["work_items"] = WorkItem.objects.count()


def _showcase(rng, plans, now, days, n):
    """A few recent orders bounced at the demo lead's team and still missing their input:
    what lead@example.com finds in the inbox on a first visit."""
    lives = []
    for plan in plans:
        if plan["workflow"].is_sandbox:
            continue
        for i, stage in enumerate(plan["stages"][1:], start=1):
            sender_stage = plan["stages"][i - 1]
            if stage.team.lead is None or stage.team.lead.email != "lead@example.com":
                continue
            if stage.team_id == sender_stage.team_id or not plan["versions"].get(sender_stage.pk):
                continue
            for _ in range(2):
                n += 1
                life = _Life(rng, plan, n, now, days)
                life.requested_at = now - datetime.timedelta(hours=rng.uniform(30, 120))
                life.bounce_into = stage
                life.title = f"{rng.choice(COMPANIES)} order #{1000 + n}"
                lives.append(_simulate(rng, plan, now, days, n, life=life))
    return lives


def _plan(workflow):
    """What the simulation needs about a workflow, fetched once."""
    stages = list(workflow.stages.select_related("team", "team__lead").order_by("position"))
    members = {}
    for stage in stages:
        if stage.team_id not in members:
            people = list(stage.team.members.all())
            if stage.team.lead and stage.team.lead not in people:
                people.append(stage.team.lead)
            members[stage.team_id] = people
    versions, handoffs = {}, {}
    for handoff in Handoff.objects.filter(workflow=workflow):
        handoffs[handoff.from_stage_id] = handoff
        versions[handoff.from_stage_id] = list(
            handoff.versions.filter(status=ProtocolVersion.Status.PUBLISHED)
            .select_related("receiving_team", "recovery_owner")
            .order_by("published_at")
        )
    return {
        "workflow": workflow,
        "stages": stages,
        "members": members,
        "versions": versions,
        "handoffs": handoffs,
    }


def _lognormal(rng, median, sigma):
    return median * math.exp(rng.gauss(0, sigma))


def _version_at(versions, moment):
    """The version that was enforced at that moment (the newest one published by then)."""
    current = versions[0] if versions else None
    for version in versions:
        if version.published_at <= moment:
            current = version
    return current


def _value(rng, defn, n, moment):
    kind, key = defn.get("type"), defn["key"]
    if kind == "money":
        return f"{rng.randint(4, 900) * 100}.00"
    if kind == "number":
        return str(rng.randint(1, 40))
    if kind == "date":
        return (moment + rng.randint(3, 30) * D).date().isoformat()
    if kind == "url":
        return f"https://docs.example.com/{key}/{n}"
    if kind == "email":
        return f"ops{n % 97}@customer.example"
    if kind == "choice":
        return rng.choice(defn.get("choices") or ["n/a"])
    if kind == "yes_no":
        return True
    if kind == "long_text":
        return "Agreed with the customer on the kick-off call; details in the CRM."
    if "po" in key or "number" in key or "ref" in key or "id" in key:
        return f"{key[:2].upper()}-{rng.randint(10000, 99999)}"
    return f"{defn.get('label', key)} {n}"


class _Life:
    """One item's simulated history: events in order, recoveries, and its fields."""

    def __init__(self, rng, plan, n, now, days):
        self.rng, self.plan, self.now = rng, plan, now
        self.stuck = rng.random() < STUCK_RATE
        # Stuck items are recent, so they are stuck now rather than long ago.
        span = min(days, 12) if self.stuck else days
        self.requested_at = now - datetime.timedelta(seconds=rng.uniform(0, span * 86400))
        company, kind = rng.choice(COMPANIES), rng.choice(KINDS)
        self.title = f"{company} {kind} #{1000 + n}"
        self.n = n
        self.events, self.recoveries, self.fields = [], [], {}
        self.source = "crm" if rng.random() < 0.3 else ""
        self.external_ref = f"D-{20000 + n}" if self.source else ""
        # Showcase items: bounced at this stage and still waiting for the missing input.
        self.bounce_into = None

    def person(self, stage):
        return self.rng.choice(self.plan["members"][stage.team_id])

    def event(
        self, kind, at, actor, *, payload, from_stage=None, to_stage=None, protocol_version=None
    ):
        # Ids, not instances: Django's related-object bookkeeping is most of bulk_create's cost.
        self.events.append(
            Event(
                kind=kind,
                at=at,
                actor_id=actor.pk,
                from_stage_id=from_stage.pk if from_stage else None,
                to_stage_id=to_stage.pk if to_stage else None,
                protocol_version_id=protocol_version.pk if protocol_version else None,
                payload=payload,
            )
        )

    def slow(self, duration):
        return duration * (8 if self.stuck else 1)


def _simulate(rng, plan, now, days, n, life=None):
    life = life or _Life(rng, plan, n, now, days)
    stages = plan["stages"]
    t = life.requested_at
    owner = life.person(stages[0])
    life.event(
        Event.Kind.CREATED,
        t,
        owner,
        to_stage=stages[0],
        payload={
            "title": life.title,
            "source": life.source,
            "external_ref": life.external_ref,
            "assignee_id": owner.pk,
            "fields": {},
        },
    )
    for i, stage in enumerate(stages):
        work = _lognormal(rng, (stage.target or D) * 0.6, 0.7)
        if rng.random() < BLOCK_RATE:
            t, owner = _block(life, stage, t + work / 2, owner)
            if t is None:
                return life
            work = work / 2
        t = t + life.slow(work) if i == len(stages) - 1 else t + work
        if t > now:
            return life
        if rng.random() < CANCEL_RATE:
            life.event(
                Event.Kind.CANCELLED,
                t,
                owner,
                from_stage=stage,
                payload={"reason": "Customer withdrew the request."},
            )
            return life
        if i == len(stages) - 1:
            cycle = int((t - life.requested_at).total_seconds())
            life.event(
                Event.Kind.DELIVERED, t, owner, from_stage=stage, payload={"cycle_seconds": cycle}
            )
            return life
        t, owner = _hand_off(life, stage, stages[i + 1], t, owner)
        if t is None:
            return life
    return life


def _hand_off(life, stage, to_stage, t, sender):
    """Submit, wait, maybe bounce and recover, and finally accept: (time, new owner) or None."""
    rng = life.rng
    versions = life.plan["versions"].get(stage.pk) or []
    for attempt in range(3):
        version = _version_at(versions, t)
        submitted = {
            d["key"]: life.fields.get(d["key"]) or _value(rng, d, life.n, t)
            for d in (version.fields if version else [])
            if d.get("required") or rng.random() < 0.5
        }
        life.fields.update(submitted)
        life.event(
            Event.Kind.HANDOFF_SUBMITTED,
            t,
            sender,
            from_stage=stage,
            to_stage=to_stage,
            protocol_version=version,
            payload={
                "checklist": sorted(version.required_checklist_ids()) if version else [],
                "fields": submitted,
                "note": "",
                "assignee_id": version.default_assignee_id if version else None,
                "overridden": [],
            },
        )
        target = version.acceptance_target if version else 4 * H
        wait = life.slow(_lognormal(rng, target * 0.4, 0.9))
        decided_at = t + wait
        if decided_at > life.now:
            return None, None
        receiver = life.person(to_stage)
        if life.bounce_into is not None:
            if life.bounce_into != to_stage:
                wait = rng.uniform(0.5, 2) * H
                decided_at = t + wait
            else:
                receiver = to_stage.team.lead
                _bounce(life, version, stage, to_stage, t + 2 * H, receiver, sender, fix=False)
                return None, None
        elif attempt < 2 and version and rng.random() < BOUNCE_RATE:
            t = _bounce(life, version, stage, to_stage, decided_at, receiver, sender)
            if t is None:
                return None, None
            continue
        life.event(
            Event.Kind.HANDOFF_ACCEPTED,
            decided_at,
            receiver,
            to_stage=to_stage,
            protocol_version=version,
            payload={"wait_seconds": int(wait.total_seconds())},
        )
        return decided_at, receiver
    return None, None


def _missing_input(rng, version):
    # The first items of a protocol go missing most often: that is what makes repeats.
    names = [c["text"] for c in version.checklist] + [f["label"] for f in version.fields]
    return names[min(int(rng.expovariate(1.2)), len(names) - 1)] if names else "Details"


def _open_recovery(life, *, kind, handoff_stage, at, by, owner, missing, delay):
    handoff = life.plan["handoffs"].get(handoff_stage.pk)
    recovery = Recovery(
        kind=kind,
        handoff_id=handoff.pk if handoff else None,
        missing_input=missing,
        owner_id=owner.pk,
        next_check_at=at + delay,
        opened_at=at,
        opened_by_id=by.pk,
    )
    life.recoveries.append(recovery)
    return recovery


def _close_recovery(life, recovery, stage, at, by):
    """Supplies the missing input (or leaves the recovery open): the unblock time or None."""
    rng = life.rng
    fixed_at = at + life.slow(_lognormal(rng, 10 * H, 0.9))
    if fixed_at > life.now:
        return None
    cause = rng.choices([c for c, _ in CAUSE_WEIGHTS], [w for _, w in CAUSE_WEIGHTS])[0]
    recovery.closed_at, recovery.closed_by_id, recovery.cause = fixed_at, by.pk, cause
    life.event(
        Event.Kind.UNBLOCKED,
        fixed_at,
        by,
        from_stage=stage,
        payload={
            "recovery": recovery,
            "cause": cause,
            "note": "",
            "blocked_seconds": int((fixed_at - at).total_seconds()),
        },
    )
    return fixed_at


def _bounce(life, version, stage, to_stage, at, receiver, sender, fix=True):
    missing = _missing_input(life.rng, version)
    owner = version.recovery_owner or sender
    recovery = _open_recovery(
        life,
        kind=Recovery.Kind.BOUNCE,
        handoff_stage=stage,
        at=at,
        by=receiver,
        owner=owner,
        missing=missing,
        delay=version.recovery_check_delay,
    )
    life.event(
        Event.Kind.HANDOFF_BOUNCED,
        at,
        receiver,
        from_stage=to_stage,
        to_stage=stage,
        protocol_version=version,
        payload={
            "recovery": recovery,
            "missing_input": missing,
            "owner_id": owner.pk,
            "next_check_at": recovery.next_check_at.isoformat(),
            "note": "",
            "assignee_id": sender.pk,
        },
    )
    fixed_at = _close_recovery(life, recovery, stage, at, owner) if fix else None
    return fixed_at + life.rng.uniform(0.2, 3) * H if fixed_at else None


def _block(life, stage, at, owner):
    if at > life.now:
        return at, owner
    recovery = _open_recovery(
        life,
        kind=Recovery.Kind.BLOCK,
        handoff_stage=stage,
        at=at,
        by=owner,
        owner=owner,
        missing=life.rng.choice(["Customer sign-off", "Access to the customer's system"]),
        delay=D,
    )
    life.event(
        Event.Kind.BLOCKED,
        at,
        owner,
        from_stage=stage,
        payload={
            "recovery": recovery,
            "missing_input": recovery.missing_input,
            "owner_id": owner.pk,
            "next_check_at": recovery.next_check_at.isoformat(),
            "note": "",
        },
    )
    fixed_at = _close_recovery(life, recovery, stage, at, owner)
    return fixed_at, owner


def _item(life):
    """The WorkItem whose state is what its events replay to."""
    stage_id, state, assignee_id, delivered_at = replay(life.events)
    last_move = max(e.at for e in life.events if e.to_stage_id is not None)
    item = WorkItem(
        workflow_id=life.plan["workflow"].pk,
        stage_id=stage_id,
        state=state,
        title=life.title,
        assignee_id=assignee_id,
        priority=life.rng.choices(["low", "normal", "high", "urgent"], [2, 12, 4, 1])[0],
        source=life.source,
        external_ref=life.external_ref,
        requested_at=life.requested_at,
        delivered_at=delivered_at,
        fields=life.fields,
        stage_entered_at=last_move,
        state_changed_at=life.events[-1].at,
        created_by_id=life.events[0].actor_id,
        created_at=life.requested_at,
    )
    if state == WorkItem.State.WAITING_ACCEPTANCE:
        item.pending_version_id = life.events[-1].protocol_version_id
    if state == WorkItem.State.BLOCKED:
        item.resume_state = WorkItem.State.IN_PROGRESS
    return item


def _write(lives):
    # COPY rather than bulk_create: a million events in a few minutes (demo_scale.py).
    items = bulk_insert(WorkItem, [_item(life) for life in lives])
    recoveries, events = [], []
    for life, item in zip(lives, items, strict=True):
        for recovery in life.recoveries:
            recovery.item_id = item.pk
            recoveries.append(recovery)
    bulk_insert(Recovery, recoveries)
    for life, item in zip(lives, items, strict=True):
        for event in life.events:
            event.item_id = item.pk
            recovery = event.payload.pop("recovery", None)
            if recovery is not None:
                event.payload["recovery_id"] = recovery.pk
            events.append(event)
    bulk_insert(Event, events, with_pk=False)
