"""Stall pages: the open stalls, one episode (acknowledge, snooze), the scheduler page.

Acknowledge and snooze work from the email link without a password: the link carries a
signed token naming the episode and the person it was sent to (handoffs.alerts).
"""

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from handoffs.stalls import channels
from handoffs.stalls.alerts import queue_test_alert, user_from_token
from handoffs.stalls.models import StallEpisode
from opshub.mail.models import EmailDelivery
from opshub.scheduler.health import SCAN_HEARTBEAT, scheduler_health
from opshub.scheduler.models import Heartbeat

MAX_SNOOZE = datetime.timedelta(days=30)
SCAN_EVERY = datetime.timedelta(minutes=1)


class SnoozeForm(forms.Form):
    until = forms.DateTimeField(
        label="Snooze until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="No reminders or escalation before then, in your time zone.",
    )
    reason = forms.CharField(
        max_length=200, help_text="Why it can wait: everyone who opens it sees this."
    )

    def clean_until(self):
        until = self.cleaned_data["until"]
        now = timezone.now()
        if until <= now:
            raise forms.ValidationError("Pick a time in the future.")
        if until > now + MAX_SNOOZE:
            raise forms.ValidationError("Snooze for at most 30 days; resolve it instead.")
        return until


def _episode_and_actor(request, pk):
    """The episode, and who acts on it: the signed-in user, else the emailed link's user."""
    episode = get_object_or_404(
        StallEpisode.objects.for_list().select_related(
            "escalate_to", "next_escalate_to", "item__stage__team"
        ),
        pk=pk,
    )
    token = request.POST.get("t") or request.GET.get("t") or ""
    if request.user.is_authenticated:
        return episode, request.user, ""
    return episode, (user_from_token(token, episode) if token else None), token


def _detail_context(episode, actor, token, snooze_form=None):
    tomorrow = (timezone.now().astimezone(actor.zone) + datetime.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return {
        "episode": episode,
        "actor": actor,
        "token": token,
        "can_act": episode.can_act(actor),
        "snooze_form": snooze_form or SnoozeForm(initial={"until": tomorrow.replace(tzinfo=None)}),
        "notices": episode.notices.select_related("delivery", "recipient").order_by("created_at"),
        "nav_active": "stalls",
    }


def _back(episode, token):
    url = reverse("handoffs:stall-detail", args=[episode.pk])
    return redirect(f"{url}?t={token}" if token else url)


@login_required
@require_safe
def stall_list(request):
    mine = Q(owner=request.user) | Q(escalate_to=request.user)
    episodes = StallEpisode.objects.open().for_list().order_by("started_at", "pk")
    return render(
        request,
        "handoffs/stallepisode_list.html",
        {
            "mine": list(episodes.filter(mine)[:100]),
            "others": list(episodes.exclude(mine)[:200]),
            "nav_active": "stalls",
        },
    )


@require_safe
def stall_detail(request, pk):
    episode, actor, token = _episode_and_actor(request, pk)
    if actor is None:
        return redirect_to_login(request.get_full_path())
    return render(
        request, "handoffs/stallepisode_detail.html", _detail_context(episode, actor, token)
    )


@require_POST
def stall_acknowledge(request, pk):
    episode, actor, token = _episode_and_actor(request, pk)
    if actor is None:
        return redirect_to_login(reverse("handoffs:stall-detail", args=[pk]))
    if not episode.can_act(actor):
        raise PermissionDenied("Only the owner, the team or its lead can acknowledge this stall.")
    if episode.acknowledge(by=actor):
        until = timezone.localtime(episode.acknowledged_until).strftime("%d %b, %H:%M")
        messages.success(request, f"Acknowledged: no reminders or escalation until {until}.")
    else:
        messages.info(request, "This stall was already acknowledged or has resolved.")
    if request.htmx:
        context = _detail_context(episode, actor, token)
        return render(request, "handoffs/stallepisode_detail.html#actions", context)
    return _back(episode, token)


@require_POST
def stall_snooze(request, pk):
    episode, actor, token = _episode_and_actor(request, pk)
    if actor is None:
        return redirect_to_login(reverse("handoffs:stall-detail", args=[pk]))
    if not episode.can_act(actor):
        raise PermissionDenied("Only the owner, the team or its lead can snooze this stall.")
    with timezone.override(actor.zone):
        form = SnoozeForm(request.POST)
        valid = form.is_valid() and episode.is_open
    if valid:
        episode.snooze(until=form.cleaned_data["until"], reason=form.cleaned_data["reason"])
        messages.success(request, "Snoozed: reminders and escalation wait until then.")
    elif form.is_valid():
        form.add_error(None, "This stall has resolved; there is nothing to snooze.")
    context = _detail_context(episode, actor, token, snooze_form=None if valid else form)
    status = 200 if valid else 400
    if request.htmx:
        return render(request, "handoffs/stallepisode_detail.html#actions", context, status=status)
    if valid:
        return _back(episode, token)
    return render(request, "handoffs/stallepisode_detail.html", context, status=status)


def _require_staff(request):
    if not (request.user.is_admin or request.user.is_staff):
        raise PermissionDenied("The scheduler page is for admins.")


@login_required
@require_safe
def scheduler(request):
    _require_staff(request)
    beat = Heartbeat.objects.filter(name=SCAN_HEARTBEAT).first()
    deliveries = EmailDelivery.objects.select_related("recipient")
    counts = StallEpisode.objects.open().aggregate(
        total=Count("pk"),
        unalerted=Count("pk", filter=Q(alerted_at=None)),
        escalated=Count("pk", filter=Q(escalated_at__isnull=False)),
        acknowledged=Count("pk", filter=Q(acknowledged_until__gt=timezone.now())),
        snoozed=Count("pk", filter=Q(snoozed_until__gt=timezone.now())),
    )
    context = {
        "beat": beat,
        "next_scan_at": beat.last_run_at + SCAN_EVERY if beat else None,
        "health": scheduler_health(),
        "counts": counts,
        "by_kind": [
            (StallEpisode.Kind(row["kind"]).label, row["n"])
            for row in StallEpisode.objects.open().values("kind").annotate(n=Count("pk")).order_by()
        ],
        "last_sent": deliveries.filter(status=EmailDelivery.Status.SENT)
        .order_by("-sent_at")
        .first(),
        "last_failed": deliveries.filter(last_failed_at__isnull=False)
        .order_by("-last_failed_at")
        .first(),
        "retrying": list(
            deliveries.exclude(status=EmailDelivery.Status.SENT)
            .filter(attempts__gt=0)
            .order_by("next_attempt_at")[:20]
        ),
        "recent": list(deliveries.order_by("-created_at", "-pk")[:15]),
        "channel_recent": channels.recent(),
        "nav_active": "admin",
    }
    if request.htmx:
        return render(request, "handoffs/scheduler.html#status", context)
    return render(request, "handoffs/scheduler.html", context)


@login_required
@require_POST
def scheduler_test_alert(request):
    _require_staff(request)
    delivery = queue_test_alert(request.user)
    messages.success(
        request,
        f"Test alert queued for {delivery.to_email}. It shows as sent below once a worker "
        "has delivered it; if it stays pending, the Celery worker is not running.",
    )
    return redirect("handoffs:scheduler")
