"""Template tags for the decision panels that other pages include (item page, inbox)."""

from django import template

from handoffs.decisions.models import Decision
from handoffs.work import permissions

register = template.Library()


@register.simple_tag
def decision_panel(item, user, form=None):
    """What the item page's decision panel shows: the pending request, past decisions, a form.

    `form`: the decision form to show, given by the decision views (a refused submission, a
    change of decision type, the form opened); None on the item page, which shows the form
    closed and loads it when opened: building it (the decision types, their rights, the
    approver: two queries and a fifth of the page's time) for a form most views leave
    closed kept the item page over 3× the trivial page (`make bench`)."""
    can_record = item.is_open and permissions.can_work_on(user, item)
    # The item's own decisions, each given the page's item rather than a join to it; not
    # asked when the item page read that there are none (`has_decisions`).
    decisions = []
    if getattr(item, "has_decisions", True):
        decisions = list(
            item.decisions.select_related(
                "decision_type", "requester", "approver", "decided_by"
            ).prefetch_related("informed")[:20]
        )
    for decision in decisions:
        decision.item = item
    pending = next((d for d in decisions if d.status == Decision.Status.PENDING), None)
    return {
        "pending": pending,
        "can_answer": pending is not None and pending.can_answer(user),
        "decisions": decisions,
        "can_record": can_record,
        "form": form if can_record else None,
    }


@register.simple_tag
def awaiting_decisions(user):
    """Red requests this user may answer, oldest first."""
    return list(Decision.objects.awaiting(user).for_list().order_by("requested_at")[:50])


@register.simple_tag
def my_pending_requests(user):
    return list(
        Decision.objects.pending().filter(requester=user).for_list().order_by("requested_at")[:50]
    )
