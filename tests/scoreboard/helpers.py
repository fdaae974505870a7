"""Hand-built histories: work items and their events written with explicit times."""

import datetime

from handoffs.models import Event, WorkItem

UTC = datetime.UTC
T0 = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def build_item(workflow, steps, *, title="Item", start=T0):
    """steps: [(kind, offset, from_stage, to_stage)]; the first is `created`, the last
    `delivered` (or anything else to leave the item open)."""
    first_stage = steps[0][3]
    last_kind, last_offset = steps[-1][0], steps[-1][1]
    done = last_kind == Event.Kind.DELIVERED
    item = WorkItem.objects.create(
        workflow=workflow,
        stage=first_stage,
        title=title,
        requested_at=start,
        state=WorkItem.State.DONE if done else WorkItem.State.IN_PROGRESS,
        delivered_at=start + last_offset if done else None,
    )
    for kind, offset, from_stage, to_stage in steps:
        Event.objects.create(
            item=item, kind=kind, at=start + offset, from_stage=from_stage, to_stage=to_stage
        )
    return item


def stages(workflow):
    qualify, ship = workflow.ordered_stages()
    return qualify, ship


def bounced_and_blocked(workflow, **kwargs):
    """Qualify 2 h → handed off, bounced after 3 h, blocked 19 h, handed off again,
    accepted after 2 h, shipped in 21 h: 48 h in all."""
    qualify, ship = stages(workflow)
    K = Event.Kind
    return build_item(
        workflow,
        [
            (K.CREATED, 0 * H, None, qualify),
            (K.HANDOFF_SUBMITTED, 2 * H, qualify, ship),
            (K.HANDOFF_BOUNCED, 5 * H, ship, qualify),
            (K.UNBLOCKED, D, None, None),
            (K.HANDOFF_SUBMITTED, D + H, qualify, ship),
            (K.HANDOFF_ACCEPTED, D + 3 * H, None, ship),
            (K.DELIVERED, 2 * D, ship, None),
        ],
        **kwargs,
    )


def simple(workflow, hours, *, start=T0, title="Simple"):
    """Created, handed off at once, accepted at once, delivered after `hours`."""
    qualify, ship = stages(workflow)
    K = Event.Kind
    return build_item(
        workflow,
        [
            (K.CREATED, 0 * H, None, qualify),
            (K.HANDOFF_SUBMITTED, 0 * H, qualify, ship),
            (K.HANDOFF_ACCEPTED, 0 * H, None, ship),
            (K.DELIVERED, hours * H, ship, None),
        ],
        start=start,
        title=title,
    )
