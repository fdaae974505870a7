"""Chat and push channel pages: a team's (its lead, admins) and your own (docs/stalls.md).

The same service as /api/v1/notification-channels/ (handoffs/stalls/channels.py) checks
the URL, the events and who may manage what; the URL is shown once, right after saving,
then masked. "Send test" writes a test notice into the channel outbox and posts it at
once, so the answer says in place whether the service took it."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from handoffs.people.calendar_views import submitted
from handoffs.stalls import channels
from handoffs.stalls.models import ChannelDelivery, NotificationChannel
from handoffs.workflows.models import Team

TEMPLATE = "handoffs/notificationchannel_list.html"


class ChannelForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="How you will recognise it, e.g. #fulfilment or My phone."
    )
    url = forms.CharField(
        max_length=2000,
        label="Apprise URL",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="The service's address with its token: slack://…, workflows://… (Microsoft "
        "Teams), mmosts://… (Mattermost), matrixs://…, ntfys://…, json://…. It is a secret: "
        "shown once after saving, then masked.",
    )
    events = forms.MultipleChoiceField(
        label="Post",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one event to post."},
    )

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(event.value, event.label) for event in events]


def _page(request, *, team=None, person=None, status=200, form=None, shown=None):
    owner = {"team": team} if team else {"user": person}
    events = channels.TEAM_EVENTS if team else channels.PERSONAL_EVENTS
    context = {
        "nav_active": "teams" if team else "",
        "team": team,
        "person": person,
        "channels": NotificationChannel.objects.filter(**owner).order_by("name", "pk"),
        "can_manage": channels.may_manage(request.user, team=team, person=person),
        "form": form or ChannelForm(events=events),
        "shown": shown,
        "add_url": _page_url(team=team, person=person),
    }
    template = f"{TEMPLATE}#channels" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


def _page_url(*, team=None, person=None):
    if team is not None:
        return reverse("handoffs:team-channels", args=[team.pk])
    return reverse("handoffs:my-channels")


def _add(request, *, team=None, person=None):
    """GET: the page; POST: a new channel, shown once with its URL, or the form refused."""
    if request.method != "POST":
        return _page(request, team=team, person=person)
    if not channels.may_manage(request.user, team=team, person=person):
        raise PermissionDenied(channels.MANAGERS_ONLY)
    events = channels.TEAM_EVENTS if team else channels.PERSONAL_EVENTS
    form = ChannelForm(request.POST, events=events)
    created = submitted(form, channels.channel_create, by=request.user, team=team, user=person)
    if not created:
        return _page(request, team=team, person=person, status=400, form=form)
    return _page(request, team=team, person=person, shown=created)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def team_channels(request, pk):
    team = get_object_or_404(Team.objects.select_related("lead"), pk=pk)
    if not channels.may_manage(request.user, team=team):
        raise PermissionDenied("Only the team's lead and admins see and manage its channels.")
    return _add(request, team=team)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_channels(request):
    return _add(request, person=request.user)


def _managed_channel(request, pk):
    channel = get_object_or_404(NotificationChannel.objects.select_related("team", "user"), pk=pk)
    if not channels.may_manage(request.user, team=channel.team, person=channel.user):
        raise PermissionDenied(channels.MANAGERS_ONLY)
    return channel


@login_required
@require_POST
def channel_delete(request, pk):
    channel = _managed_channel(request, pk)
    team, person = channel.team, channel.user
    channels.channel_delete(channel=channel, by=request.user)
    if request.htmx:
        return _page(request, team=team, person=person)
    messages.success(request, f"Deleted the channel “{channel.name}”.")
    return redirect(_page_url(team=team, person=person))


@login_required
@require_POST
def channel_test(request, pk):
    channel = _managed_channel(request, pk)
    delivery = channels.send_test(channel, by=request.user)
    channels.send_one(delivery.pk)
    delivery = ChannelDelivery.objects.get(pk=delivery.pk)
    if request.htmx:
        context = {"channel": channel, "delivery": delivery}
        return render(request, f"{TEMPLATE}#test-result", context)
    if delivery.status == ChannelDelivery.Status.SENT:
        messages.success(request, f"Test posted to “{channel.name}”.")
    else:
        messages.error(request, f"The test to “{channel.name}” failed: {delivery.last_error}")
    return redirect(_page_url(team=channel.team, person=channel.user))
