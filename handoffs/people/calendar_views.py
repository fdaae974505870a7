"""A team's working calendar page: hours, public holidays, closed days (docs/calendars.md).

Everyone signed in reads it; admins and the team's lead change it. Each form answers htmx
with the page's one region (`#calendar`) again, a refused one with 400 and its errors."""

import functools
import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from handoffs.workflows import calendars
from handoffs.workflows.models import Team, TeamClosure

WEEKDAYS = list(enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]))
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


@functools.cache
def _time_zones():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class CalendarForm(forms.Form):
    time_zone = forms.ChoiceField(help_text="Working hours and days are local to it.")
    working_days = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one working day."},
    )
    day_start = forms.TimeField(label="Work starts", widget=TIME_INPUT)
    day_end = forms.TimeField(label="Work ends", widget=TIME_INPUT, help_text="Local time.")
    country = forms.CharField(
        max_length=3,
        required=False,
        label="Public holidays of",
        help_text="A country's ISO code, e.g. DE, FR, GB, US; empty for none.",
    )
    subdivision = forms.CharField(
        max_length=10,
        required=False,
        label="State or region",
        help_text="Optional, e.g. BY (Bavaria) for DE, NY for US.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zones()


class ClosureForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=200, help_text="e.g. Inventory day, company shutdown.")


def submitted(form, service, **arguments):
    """Runs `service` with a valid form's data: its result, or None when the form or the
    service refused (the refusal is then on the form, per field where it names one)."""
    if not form.is_valid():
        return None
    try:
        return service(**arguments, **form.cleaned_data)
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None


def _initial(calendar):
    return {
        "time_zone": calendar.time_zone,
        "working_days": calendar.working_days,
        "day_start": calendar.day_start,
        "day_end": calendar.day_end,
        "country": calendar.country,
        "subdivision": calendar.subdivision,
    }


def _page(request, team, *, status=200, saved="", **forms_):
    calendar = calendars.calendar_of(team)
    today = timezone.localtime(timezone.now(), calendar.as_work_calendar().zone).date()
    context = {
        "nav_active": "teams",
        "team": team,
        "calendar": calendar,
        "can_edit": calendars.can_edit_calendar(request.user, team),
        "weekdays": [label for day, label in WEEKDAYS if day in calendar.working_days],
        "closures": calendar.closed_days.all() if calendar.pk else [],
        "upcoming": calendars.upcoming(calendar, today=today),
        "calendar_form": forms_.get("calendar_form") or CalendarForm(initial=_initial(calendar)),
        "closure_form": forms_.get("closure_form") or ClosureForm(),
        "saved": saved,
    }
    template = "handoffs/teamcalendar_detail.html"
    return render(
        request, f"{template}#calendar" if request.htmx else template, context, status=status
    )


def _done(request, team, message):
    if request.htmx:
        return _page(request, team, saved=message)
    messages.success(request, message)
    return redirect("handoffs:team-calendar", team.pk)


def _team(pk):
    return get_object_or_404(Team.objects.select_related("lead"), pk=pk)


def _require_edit(request, team):
    if not calendars.can_edit_calendar(request.user, team):
        raise PermissionDenied(calendars.LEADS_ONLY)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def team_calendar(request, pk):
    team = _team(pk)
    if request.method != "POST":
        return _page(request, team)
    _require_edit(request, team)
    form = CalendarForm(request.POST)
    if not submitted(form, calendars.calendar_update, team=team, by=request.user):
        return _page(request, team, status=400, calendar_form=form)
    return _done(request, team, f"Saved {team.name}'s calendar.")


@login_required
@require_POST
def team_closure_add(request, pk):
    team = _team(pk)
    _require_edit(request, team)
    form = ClosureForm(request.POST)
    closure = submitted(form, calendars.closure_add, team=team, by=request.user)
    if not closure:
        return _page(request, team, status=400, closure_form=form)
    return _done(request, team, f"{team.name} is closed on {closure.date:%a %d %b %Y}.")


@login_required
@require_POST
def team_closure_remove(request, pk, closure_pk):
    team = _team(pk)
    _require_edit(request, team)
    closure = get_object_or_404(TeamClosure, pk=closure_pk, calendar__team=team)
    calendars.closure_remove(team=team, by=request.user, closure=closure)
    return _done(request, team, f"{closure.date:%a %d %b %Y} is a normal day again.")
