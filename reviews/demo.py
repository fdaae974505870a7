"""Demo breakage reviews for seed_demo: six closed weeks with actions, repeats, and this week's
open review with a ready agenda (runs after the work items exist)."""

import datetime

from django.utils import timezone

from handoffs.models import Cause, Handoff, Recovery, WorkItem
from opshub.accounts.models import User
from reviews.models import ActionItem, AgendaEntry, Breakage, Review, week_bounds, week_of
from reviews.services import breakage_log

PAST_WEEKS = 6
# Weeks (counted back from this one) in which the "hot" handoff breaks the same way again.
REPEAT_WEEKS_AGO = (0, 1, 3, 5)
# Weeks in which a client's kickoff reaches Customer Success without the contract's promises.
ONBOARDING_WEEKS_AGO = (0, 2, 4)
SMALL_CHANGES = [
    "Make the missing input a required field on the handoff",
    "Add a checklist item the sender ticks before handing off",
    "Send the receiver a heads-up when the item is created",
    "Write down the acceptance target in the protocol and tell the team",
    "Pre-fill the field from the CRM instead of retyping it",
    "Add the question to the intake form",
]
SYSTEM_FACTORS = [
    "The form lets you hand off without it; nothing reminds you.",
    "Two tools hold the same data and they drift apart.",
    "The new starter was never shown where this lives.",
]


def seed_reviews(ctx):
    rng = ctx["rng"]
    handoffs = list(
        Handoff.objects.filter(workflow__is_sandbox=False).select_related(
            "workflow", "from_stage__team__lead"
        )
    )
    if not handoffs:
        return
    facilitator = User.objects.get(email="lead@example.com")
    attendees = list(User.objects.filter(role=User.Role.LEAD))
    # The handoffs that keep breaking the same way, each on its own workflow: the demo's repeats.
    hot = _handoff_into(handoffs, "Order to delivery", "Fulfilment") or handoffs[0]
    onboarding = _handoff_into(handoffs, "Client onboarding", "Customer Success")
    this_week = week_of()
    for back in range(PAST_WEEKS, -1, -1):
        week = this_week - datetime.timedelta(weeks=back)
        review = Review.objects.create(week=week, facilitator=facilitator)
        review.attendees.set(attendees)
        breakages = _week_breakages(
            rng, week, handoffs, hot, facilitator, repeat=back in REPEAT_WEEKS_AGO
        )
        if onboarding is not None and back in ONBOARDING_WEEKS_AGO:
            breakages.append(_onboarding_breakage(week, onboarding, facilitator))
        if back == 0:
            AgendaEntry.objects.create(review=review, key="scoreboard", state="reviewed")
            continue
        for breakage in breakages:
            AgendaEntry.objects.create(
                review=review, key=f"breakage:{breakage.pk}", state="reviewed"
            )
            _action(rng, review, breakage, week, closed=back >= 4)
        closed_at = timezone.make_aware(
            datetime.datetime.combine(week + datetime.timedelta(days=4), datetime.time(15))
        )
        Review.objects.filter(pk=review.pk).update(status=Review.Status.CLOSED, closed_at=closed_at)
    ctx["reviews"] = Review.objects.count()


def _week_breakages(rng, week, handoffs, hot, reporter, *, repeat):
    start, end = week_bounds(week)
    end = min(end, timezone.now())
    bounces = list(
        Recovery.objects.filter(
            kind=Recovery.Kind.BOUNCE,
            opened_at__gte=start,
            opened_at__lt=end,
            handoff__workflow__is_sandbox=False,
        ).select_related("item", "handoff__workflow")[:40]
    )
    made = []
    for recovery in rng.sample(bounces, min(len(bounces), rng.randint(2, 3))):
        kind = recovery.cause or rng.choice(Cause.values)
        made.append(
            breakage_log(
                by=reporter,
                title=f"Handed off without {recovery.missing_input}",
                workflow=recovery.handoff.workflow,
                handoff=recovery.handoff,
                kind=kind,
                system_factor=rng.choice(SYSTEM_FACTORS) if kind == Cause.PERSON else "",
                items=[recovery.item],
                source=Breakage.Source.BOUNCE,
                source_key=f"recovery:{recovery.pk}",
                occurred_at=recovery.opened_at,
            )
        )
    if repeat:
        items = WorkItem.objects.filter(
            workflow=hot.workflow, requested_at__lt=end, state=WorkItem.State.DONE
        ).order_by("-requested_at")[:1]
        made.append(
            breakage_log(
                by=reporter,
                title="Delivery address missing when the order reached Fulfilment",
                description="The receiving team had to call the customer before anything shipped.",
                workflow=hot.workflow,
                handoff=hot,
                kind=Cause.PROCESS,
                items=list(items),
                occurred_at=max(start, min(start + datetime.timedelta(days=1, hours=10), end)),
            )
        )
    return made


def _handoff_into(handoffs, workflow, team):
    """The first handoff of that workflow into that team (None when the demo has none)."""
    return next(
        (
            h
            for h in sorted(handoffs, key=lambda h: h.from_stage.position)
            if h.workflow.name == workflow
            and h.to_stage.team.name == team
            and h.from_stage.team_id != h.to_stage.team_id
        ),
        None,
    )


def _onboarding_breakage(week, handoff, reporter):
    """An onboarding that reached kickoff without the plain-words summary of the contract."""
    start, end = week_bounds(week)
    end = min(end, timezone.now())
    items = WorkItem.objects.filter(workflow=handoff.workflow, requested_at__lt=end).order_by(
        "-requested_at"
    )[:1]
    return breakage_log(
        by=reporter,
        title="Onboarding reached kickoff without the contract's promises",
        description=(
            "Customer Success learned about a custom SLA from the client on the kickoff call."
        ),
        workflow=handoff.workflow,
        handoff=handoff,
        kind=Cause.PROCESS,
        items=list(items),
        occurred_at=max(start, min(start + datetime.timedelta(days=2, hours=11), end)),
    )


def _action(rng, review, breakage, week, *, closed):
    owner = breakage.handoff.from_stage.team.lead if breakage.handoff else review.facilitator
    action = ActionItem.objects.create(
        review=review,
        breakage=breakage,
        title=rng.choice(SMALL_CHANGES),
        owner=owner or review.facilitator,
        due_date=week + datetime.timedelta(days=rng.choice([7, 11, 14])),
        handoff=breakage.handoff,
        protocol_version=breakage.handoff.published() if breakage.handoff else None,
        created_by=review.facilitator,
        created_at=timezone.make_aware(
            datetime.datetime.combine(week + datetime.timedelta(days=4), datetime.time(14))
        ),
    )
    if closed:
        closed_at = timezone.make_aware(
            datetime.datetime.combine(action.due_date, datetime.time(16))
        )
        ActionItem.objects.filter(pk=action.pk).update(
            status=ActionItem.Status.DONE,
            closed_at=closed_at,
            repeat_check_due=closed_at.date() + datetime.timedelta(weeks=4),
        )
