"""'Make the system smaller': rules that no longer earn their keep, each with its evidence.

Every finding is a candidate for removal, never an automatic change: the review decides.
"""

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from handoffs.models import Comment, Event, Handoff, ProtocolVersion, Recovery, Stage, WorkItem
from opshub.lib.aggregates import PercentileCont

WINDOW = datetime.timedelta(days=90)
# A red decision approved this often is not a real check, only a wait.
RED_APPROVAL_RATE = 0.9
RED_MIN_DECISIONS = 5
RED_LONG_WAIT = datetime.timedelta(hours=4)
# A handoff needs this much traffic before "never bounced" means anything.
NEVER_BOUNCES_MIN_HANDOFFS = 10


@dataclass
class Finding:
    subject: str
    where: str
    evidence: str
    url: str = ""


def _published_versions():
    """The version each measured handoff enforces now (newest published)."""
    versions = (
        ProtocolVersion.objects.filter(
            status=ProtocolVersion.Status.PUBLISHED, handoff__workflow__is_sandbox=False
        )
        .select_related("handoff__workflow", "handoff__from_stage")
        .order_by("handoff_id", "-number")
        .distinct("handoff_id")
    )
    return list(versions)


def _named(text, haystack):
    text = (text or "").strip().lower()
    return bool(text) and any(text in h for h in haystack)


def _mentions_by_handoff(since):
    """Lower-cased missing inputs and notes of recoveries opened since, per handoff id."""
    mentions = {}
    rows = Recovery.objects.filter(opened_at__gte=since, handoff__isnull=False).values_list(
        "handoff_id", "missing_input", "note"
    )
    for handoff_id, missing, note in rows:
        mentions.setdefault(handoff_id, []).append(f"{missing} {note}".lower())
    return mentions


def _handoffs_through(since):
    """How many handoffs each handoff id saw since (submitted events)."""
    return dict(
        Event.objects.filter(
            kind=Event.Kind.HANDOFF_SUBMITTED, at__gte=since, protocol_version__isnull=False
        )
        .values_list("protocol_version__handoff_id")
        .annotate(n=Count("pk"))
        .order_by()
    )


def quiet_checklist_items(now=None):
    """Checklist items no bounce or recovery has named in 90 days."""
    since = (now or timezone.now()) - WINDOW
    mentions = _mentions_by_handoff(since)
    through = _handoffs_through(since)
    findings = []
    for version in _published_versions():
        texts = mentions.get(version.handoff_id, [])
        for check in version.checklist:
            if _named(check.get("text"), texts) or _named(check.get("id"), texts):
                continue
            n = through.get(version.handoff_id, 0)
            findings.append(
                Finding(
                    subject=check.get("text") or check.get("id"),
                    where=f"{version.handoff.workflow.name} · {version.handoff} v{version.number}",
                    evidence=f"Passed by {n} handoff{'s' if n != 1 else ''} in 90 days; "
                    f"no bounce or recovery named it "
                    f"({len(texts)} recover{'ies' if len(texts) != 1 else 'y'} at this handoff).",
                    url=version.handoff.get_absolute_url(),
                )
            )
    return findings


def unread_fields(now=None):
    """Fields nobody asks about: never named in a bounce, recovery or comment in 90 days."""
    since = (now or timezone.now()) - WINDOW
    mentions = _mentions_by_handoff(since)
    comments = [
        body.lower()
        for body in Comment.objects.filter(created_at__gte=since).values_list("body", flat=True)
    ]
    findings = []
    for version in _published_versions():
        if not version.fields:
            continue
        items = WorkItem.objects.filter(
            workflow_id=version.handoff.workflow_id, created_at__gte=since
        )
        filled = items.aggregate(
            total=Count("pk"),
            **{
                f"f{i}": Count(
                    "pk", filter=Q(fields__has_key=d["key"]) & ~Q(**{f"fields__{d['key']}": ""})
                )
                for i, d in enumerate(version.fields)
            },
        )
        texts = mentions.get(version.handoff_id, []) + comments
        for i, defn in enumerate(version.fields):
            label = defn.get("label") or defn["key"]
            if _named(label, texts) or _named(defn["key"], texts):
                continue
            required = "required" if defn.get("required") else "optional"
            findings.append(
                Finding(
                    subject=label,
                    where=f"{version.handoff.workflow.name} · {version.handoff} ({required})",
                    evidence=f"Filled on {filled[f'f{i}']} of {filled['total']} items in 90 days; "
                    "never named in a bounce, a recovery or a comment.",
                    url=version.handoff.get_absolute_url(),
                )
            )
    return findings


def never_bouncing_stages(now=None):
    """Stages whose outgoing handoff passed many items in 90 days without a single bounce."""
    since = (now or timezone.now()) - WINDOW
    through = _handoffs_through(since)
    bounces = dict(
        Recovery.objects.filter(kind=Recovery.Kind.BOUNCE, opened_at__gte=since)
        .values_list("handoff_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    findings = []
    handoffs = Handoff.objects.filter(workflow__is_sandbox=False).select_related(
        "workflow", "from_stage__team"
    )
    for handoff in handoffs:
        n = through.get(handoff.pk, 0)
        if n >= NEVER_BOUNCES_MIN_HANDOFFS and not bounces.get(handoff.pk):
            stage = handoff.from_stage
            findings.append(
                Finding(
                    subject=stage.name,
                    where=f"{handoff.workflow.name} · {stage.team.name}",
                    evidence=f"{n} handoffs out of this stage in 90 days, 0 bounces: "
                    "its protocol may ask for more than anyone checks.",
                    url=handoff.get_absolute_url(),
                )
            )
    return findings


def decision_model():
    try:
        return apps.get_model("handoffs", "Decision")
    except LookupError:
        return None


def rubber_stamp_red_decisions(now=None):
    """Red decision types approved nearly always while pausing work for long: yellow candidates.

    None when the decision-rights models are not installed.
    """
    decision = decision_model()
    if decision is None:
        return None
    since = (now or timezone.now()) - WINDOW
    wait = ExpressionWrapper(F("decided_at") - F("requested_at"), output_field=DurationField())
    rows = (
        decision.objects.filter(
            level="red",
            requested_at__gte=since,
            decided_at__isnull=False,
            item__workflow__is_sandbox=False,
        )
        .values("decision_type_id", "decision_type__name", "decision_type__workflow__name")
        .annotate(
            n=Count("pk"),
            approved=Count("pk", filter=Q(status="approved")),
            avg_wait=Avg(wait),
            p50_wait=PercentileCont(wait, 0.5, output_field=DurationField()),
        )
        .filter(n__gte=RED_MIN_DECISIONS)
        .order_by("-n")
    )
    findings = []
    for row in rows:
        rate = row["approved"] / row["n"]
        if rate < RED_APPROVAL_RATE or row["avg_wait"] < RED_LONG_WAIT:
            continue
        findings.append(
            Finding(
                subject=row["decision_type__name"],
                where=row["decision_type__workflow__name"] or "All workflows",
                evidence=f"{row['approved']} of {row['n']} red requests approved ({rate:.0%}) "
                f"in 90 days; items waited {_hours(row['avg_wait'])} on average "
                f"(median {_hours(row['p50_wait'])}). Candidate for yellow.",
            )
        )
    return findings


def _hours(delta):
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def system_audit(now=None):
    return {
        "checklist": quiet_checklist_items(now),
        "decisions": rubber_stamp_red_decisions(now),
        "fields": unread_fields(now),
        "stages": never_bouncing_stages(now),
        "stage_count": Stage.objects.filter(workflow__is_sandbox=False).count(),
    }
