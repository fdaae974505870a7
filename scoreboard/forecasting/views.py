"""The workflow's forecasts-and-flow page, its dashboard summary, the commitment point."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from handoffs.models import Workflow, WorkItem
from opshub.lib.cache import cache_get, cache_set
from opshub.lib.ids import parse_id
from scoreboard import board_cache, dashboard
from scoreboard.forecasting import charts, flow, live
from scoreboard.forecasting.forms import CommitmentForm, ForecastForm
from scoreboard.forecasting.services import commitment_point_set
from scoreboard.forms import FilterForm

FLOW_TTL = 60
# Cards one board shows at the most (handoffs' board_columns): bounds a marker request.
MAX_BOARD_IDS = 500
THROUGHPUT_WEEKS = 26
PARTIALS = {"flow-summary": "summary", "flow-forecast": "forecast", "flow-coverage": "coverage"}


def _period(request, tz):
    form = FilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate(timezone=tz)
    return dashboard.window_period(
        data.get("period"), data.get("since"), data.get("until"), tz, today
    )


def _flow(workflow, period, now):
    """The page's SQL figures, kept for the board's polling interval under its version."""
    version = board_cache.version()
    span = f"{period.since.isoformat()}:{period.until.isoformat()}".replace(" ", "")
    key = version and f"scoreboard:flow:{version}:{workflow.pk}:{span}"
    stored = cache_get(key) if key else None
    if stored is not None:
        return stored
    weeks_since = now - datetime.timedelta(weeks=THROUGHPUT_WEEKS)
    times = flow.lead_and_cycle(workflow, period.since, period.until)
    data = {
        "times": times,
        "cfd": flow.cumulative_flow(workflow, period.since, period.until),
        "weeks": flow.weekly_throughput(workflow, weeks_since, now),
        "ranking": flow.pain_ranking(workflow, period.since, period.until, now=now),
        "bands": flow.service_level_bands(workflow, times["lead"], now=now),
    }
    if key:
        cache_set(key, data, FLOW_TTL)
    return data


def _forecast(workflow, question, now):
    """The throughput forecast for this question, kept like the flow figures (10,000
    simulations cost ~0.1–0.3 s; the page and the dashboard summary are polled)."""
    items, until = question.get("items"), question.get("until")
    version = board_cache.version()
    key = version and f"scoreboard:flow-forecast:{version}:{workflow.pk}:{items}:{until}"
    stored = cache_get(key) if key else None
    if stored is None:
        stored = live.workflow_forecast(workflow, items=items, until=until, now=now)
        if key:
            cache_set(key, stored, FLOW_TTL)
    return stored


@login_required
@require_safe
def flow_view(request, pk):
    workflow = get_object_or_404(Workflow.objects.counted(), pk=pk)
    tz, now = request.user.zone, timezone.now()
    period = _period(request, tz)
    form = ForecastForm(request.GET if "items" in request.GET or "until" in request.GET else None)
    question = form.cleaned_data if form.is_bound and form.is_valid() else {}
    partial = PARTIALS.get(request.htmx.target) if request.htmx else None
    context = {
        "nav_active": "scoreboard",
        "workflow": workflow,
        "period": period,
        "form": form,
        "forecast": _forecast(workflow, question, now),
    }
    if partial == "coverage":
        last_quarter = dashboard.quarter_period(timezone.localdate(timezone=tz), tz, -1)
        context.update(coverage=live.quarter_coverage(workflow, last_quarter), quarter=last_quarter)
    elif partial != "forecast":
        context.update(_flow(workflow, period, now))
        context["charts"] = charts.flow_charts(context["cfd"], context["weeks"])
        context["can_edit"] = workflow.can_edit(request.user)
        context["commitment_form"] = CommitmentForm(
            workflow=workflow, initial={"stage": context["times"]["stage"]}
        )
    template = "scoreboard/forecasting/flow.html"
    return render(request, f"{template}#{partial}" if partial else template, context)


@login_required
@require_POST
def commitment_set(request, pk):
    workflow = get_object_or_404(Workflow.objects.counted(), pk=pk)
    if not workflow.can_edit(request.user):
        raise PermissionDenied("Only the leads of this workflow's teams set its commitment point.")
    form = CommitmentForm(request.POST, workflow=workflow)
    if form.is_valid():
        try:
            commitment_point_set(
                workflow=workflow, stage=form.cleaned_data["stage"], by=request.user
            )
            messages.success(request, f"Cycle time of {workflow.name} now starts there.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(form.errors.get("stage", ["Pick a stage."])))
    return redirect(reverse("scoreboard:flow", args=[workflow.pk]))


@login_required
@require_safe
def item_forecast_view(request, pk):
    """The item's delivery dates, loaded into its page after it renders (htmx)."""
    items = live.with_calendar(WorkItem.objects.select_related("workflow"))
    item = get_object_or_404(items.visible_to(request.user), pk=pk)
    context = {"item": item, "forecast": live.item_forecast(item)}
    return render(request, "scoreboard/forecasting/workitem_forecast.html#forecast", context)


@login_required
@require_safe
def board_risk_view(request, pk):
    """The board's at-risk markers: for the cards named in ?ids= that have a due date, an
    out-of-band "At risk" where the 85% date falls after it."""
    raw = request.GET.get("ids", "").split(",")[:MAX_BOARD_IDS]
    ids = {i for i in map(parse_id, raw) if i is not None}
    items = (
        WorkItem.objects.visible_to(request.user)
        .open()
        .filter(workflow_id=pk, pk__in=ids, due_date__isnull=False)
        .select_related("workflow")
    )
    context = {"risky": sorted(live.at_risk(items))}
    return render(request, "scoreboard/forecasting/workitem_forecast.html#board-risk", context)
