"""Approve or deny a red request from its email (docs/decision-rights.md).

The approval email carries two links, Approve and Deny, each a signed token naming the
request and the approver it was sent to, like the stall email's links (handoffs/stalls).
The link opens a page that shows the request and answers it on a POST: a mail scanner that
follows links changes nothing. A link is single-use because a request is answered once,
under the item's row lock; a second use, an expired link, or one whose request moved to
another approver says so instead of acting."""

import datetime

from django.core import signing
from django.urls import reverse
from django.utils import dateformat, timezone

from handoffs.decisions.models import Decision
from opshub.accounts.models import User

LINK_SALT = "handoffs.decision-answer"
# A red request pauses its item; a week-old email link is better refused than followed.
LINK_MAX_AGE = datetime.timedelta(days=7)
ANSWERS = ("approve", "deny")


def answer_url(decision, user, answer):
    """The path of the emailed link that answers `decision` as `user` (`answer`: approve/deny)."""
    token = signing.dumps({"d": decision.pk, "u": user.pk}, salt=LINK_SALT, compress=True)
    path = reverse("handoffs:decision-email-answer", args=[decision.pk])
    return f"{path}?answer={answer}&t={token}"


class LinkRefused(Exception):
    """Why an emailed link cannot answer (an expired, forged or foreign link)."""


def approver_from_link(token, decision):
    """The active user the link was sent to; LinkRefused says why there is none."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkRefused(
            f"This link expired: approval links work for {LINK_MAX_AGE.days} days. "
            "Sign in and answer on the item page."
        ) from None
    except signing.BadSignature:
        raise LinkRefused(
            "This link is not valid (it may have been cut or changed). "
            "Open the email again, or sign in and answer on the item page."
        ) from None
    if data.get("d") != decision.pk:
        raise LinkRefused("This link is for another request.")
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None:
        raise LinkRefused("The account this link was sent to is no longer active.")
    return user


def why_not_answerable(decision, user):
    """Why `user` cannot answer `decision` from a link now, or "" when they can."""
    if decision.status != Decision.Status.PENDING:
        who = f" by {decision.decided_by}" if decision.decided_by_id else ""
        when = (
            dateformat.format(timezone.localtime(decision.decided_at), "j M Y, H:i")
            if decision.decided_at
            else ""
        )
        return (
            f"This request was {decision.get_status_display().lower()}{who}"
            f"{' on ' + when if when else ''}. The link has been used; nothing changed."
        )
    if user.pk == decision.requester_id:
        return "Nobody approves their own request."
    if not decision.can_answer(user):
        return "This request now waits for someone else to answer it; nothing changed."
    return ""
