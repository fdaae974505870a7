from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh

from handoffs.models import Team
from opshub.lib.forms import add_service_errors
from opshub.lib.ids import parse_id
from scoreboard.discovery import layout as map_layout
from scoreboard.discovery.forms import TeamsForm, UploadForm, WorkflowForm
from scoreboard.discovery.models import Baseline
from scoreboard.discovery.services import (
    CREATE_LATER_ABOVE_EVENTS,
    baseline_create,
    baseline_teams_set,
    workflow_from_baseline,
    workflow_problems,
)
from scoreboard.imports.services import import_run_start

DRAFTED = (
    "drafted with its history as the baseline: decide the checklist of each collision "
    "zone's protocol, then publish."
)


def _require_lead(request):
    if not request.user.can_create_workflows:
        raise PermissionDenied("Only leads and admins discover maps from event logs.")


def _get_baseline_for_user(request, pk):
    _require_lead(request)
    return get_object_or_404(Baseline.objects.visible_to(request.user), pk=parse_id(pk))


@login_required
def baseline_list(request):
    _require_lead(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            baseline = baseline_create(
                name=upload.name, data=upload.read(), by=request.user, columns=form.columns()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(baseline)
    context = {
        "nav_active": "map",
        "form": form,
        "baselines": Baseline.objects.visible_to(request.user).listed()[:50],
    }
    return render(request, "scoreboard/baseline_list.html", context)


def _map_context(request, baseline, workflow_form=None):
    keep = parse_id(request.GET.get("keep"))
    keep = keep if keep in map_layout.KEEP_CHOICES else map_layout.DEFAULT_KEEP
    workflow_form = workflow_form or WorkflowForm(baseline=baseline, teams=Team.objects.all())
    return {
        "nav_active": "map",
        "baseline": baseline,
        "found": baseline.discovery,
        "layout": map_layout.layout(baseline.discovery, keep=keep),
        "keep_choices": map_layout.KEEP_CHOICES,
        "teams_form": TeamsForm(baseline=baseline),
        "workflow_form": workflow_form,
    }


@login_required
@require_safe
def baseline_map(request, pk):
    baseline = _get_baseline_for_user(request, pk)
    template = "scoreboard/baseline_map.html"
    if not baseline.is_ready:
        return _baseline_progress(request, baseline, template)
    if request.htmx and request.GET.get("poll"):
        return HttpResponseClientRefresh()  # counted while the page polled: show the map
    context = _map_context(request, baseline)
    return render(request, f"{template}#map" if request.htmx else template, context)


def _baseline_progress(request, baseline, template):
    """A log still being read: a progress bar that polls; a refused one: its lines."""
    context = {"nav_active": "map", "baseline": baseline, "found": {}}
    if request.htmx and baseline.status == Baseline.Status.FAILED:
        return HttpResponseClientRefresh()
    return render(request, f"{template}#progress" if request.htmx else template, context)


@login_required
@require_POST
def baseline_workflow(request, pk):
    baseline = _get_baseline_for_user(request, pk)
    form = WorkflowForm(request.POST, baseline=baseline, teams=Team.objects.all())
    if form.is_valid() and baseline.events > CREATE_LATER_ABOVE_EVENTS:
        return _workflow_in_background(request, baseline, form)
    if form.is_valid():
        try:
            workflow = workflow_from_baseline(
                baseline=baseline,
                by=request.user,
                name=form.cleaned_data["name"],
                stages=form.stages(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{workflow.name}” {DRAFTED}")
            return redirect(workflow)
    context = _map_context(request, baseline, workflow_form=form)
    return render(request, "scoreboard/baseline_map.html", context, status=400)


def _workflow_in_background(request, baseline, form):
    """A big log: the draft checked now, its history imported by a task behind a progress
    bar (scoreboard/imports/)."""
    name, stages = form.cleaned_data["name"], form.stages()
    problems = workflow_problems(baseline, name, stages)
    if not problems:
        return redirect(
            import_run_start(by=request.user, workflow_name=name.strip(), baseline=baseline,
                             stages=stages)
        )  # fmt: skip
    add_service_errors(form, ValidationError(problems))
    context = _map_context(request, baseline, workflow_form=form)
    return render(request, "scoreboard/baseline_map.html", context, status=400)


@login_required
@require_POST
def baseline_teams(request, pk):
    baseline = _get_baseline_for_user(request, pk)
    form = TeamsForm(request.POST, baseline=baseline)
    if form.is_valid():
        try:
            baseline_teams_set(baseline=baseline, by=request.user, team_of=form.team_of())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Teams saved: the map is counted again with them.")
    else:
        messages.error(request, "Team names are at most 100 characters.")
    return redirect(baseline)
