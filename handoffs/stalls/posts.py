"""Red decision requests and handoffs waiting for a team, posted to chat channels (docs/stalls.md).

The decisions and work areas sit below this one, so they do not call it: they send
`handoffs.signals.decision_requested` and `handoff_waiting` inside the transaction that
made the request or the handoff, and handoffs/apps.py connects the two receivers below.
The posts are written into the channel outbox in that same transaction (a rolled-back
handoff posts nothing) under a key per request or handoff and channel, so they are written
once, and sent like every channel notice (handoffs/stalls/channels.py: retries, lease).

A red request goes to the approver's own channels, with Approve and Deny links signed for
them (handoffs/decisions/links.py, as in the email), and to the channels of the team that
approves it, with a link to the request only: everyone in a team channel could follow a
signed link, and it answers as the approver.
"""

from django.utils import timezone

from handoffs.decisions import links
from handoffs.stalls import channels
from handoffs.stalls.models import NotificationChannel
from opshub.mail.outbox import absolute_url

Event = NotificationChannel.Event


def post_decision_request(sender, *, decision, team, **kwargs):
    now = timezone.now()
    item = decision.item
    title = f"Approval needed: {decision.summary}"
    facts = [
        f"{decision.requester} asks {decision.approver or 'an admin'} to approve, on "
        f"“{item.title}” ({item.workflow}, stage {item.stage.name}). The item is paused "
        "until it is answered.",
        f"What: {decision.summary}",
        f"Why: {decision.why or '(not given)'}",
    ]
    key = f"decision:{decision.pk}:requested"
    posts = []
    approver = decision.approver
    if approver is not None and approver.is_active:
        signed = [
            f"Approve: {absolute_url(links.answer_url(decision, approver, 'approve'))}",
            f"Deny: {absolute_url(links.answer_url(decision, approver, 'deny'))}",
            f"(These links answer as {approver}, work once and last "
            f"{links.LINK_MAX_AGE.days} days.)",
        ]
        posts += [
            (channel, f"{key}:u{approver.pk}", title, "\n".join(facts + signed))
            for channel in _subscribed(Event.DECISION_REQUEST, user=approver)
        ]
    if team is not None:
        open_it = f"Answer it: {absolute_url(decision.get_absolute_url())}"
        posts += [
            (channel, key, title, "\n".join([*facts, open_it]))
            for channel in _subscribed(Event.DECISION_REQUEST, team=team)
        ]
    return channels.enqueue(posts=posts, now=now)


def post_handoff_waiting(sender, *, item, event, **kwargs):
    team = item.pending_version.effective_receiving_team if item.pending_version_id else None
    team = team or item.stage.team
    note = (event.payload or {}).get("note") or ""
    lines = [
        f"{event.actor} handed “{item.title}” ({item.workflow}) from "
        f"{event.from_stage.name if event.from_stage_id else 'the previous stage'} to "
        f"{item.stage.name}; it waits for {team} to accept it.",
        *([f"Note: {note}"] if note else []),
        f"Accept or bounce it: {absolute_url(item.get_absolute_url())}",
    ]
    posts = [
        (channel, f"handoff:{event.pk}", f"Waiting for {team}: {item.title}", "\n".join(lines))
        for channel in _subscribed(Event.HANDOFF_WAITING, team=team)
    ]
    return channels.enqueue(posts=posts, now=event.at)


def _subscribed(event, **owner):
    return [
        channel
        for channel in NotificationChannel.objects.filter(is_active=True, **owner)
        if event in channel.events
    ]
