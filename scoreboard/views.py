import io
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, Min
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh

from handoffs.models import Workflow
from opshub.lib.cache import cache_delete, cache_get, cache_set
from opshub.lib.forms import add_service_errors
from opshub.lib.ids import parse_id
from scoreboard import board_cache, dashboard
from scoreboard.discovery.views import DRAFTED
from scoreboard.forms import FilterForm, ImportForm, TargetForm
from scoreboard.importer import event_log_import, parse_event_log, validate_workflow_name
from scoreboard.imports.models import ImportRun
from scoreboard.imports.services import import_run_start
from scoreboard.progress import IN_BACKGROUND_ABOVE_BYTES
from scoreboard.services import quarter_target_set

UPLOAD_TTL = 30 * 60


def _can_import(user):
    return user.can_create_workflows


@login_required
@require_safe
def dashboard_view(request):
    form = FilterForm(request.GET or None)
    context = {"nav_active": "scoreboard", "form": form, "can_import": _can_import(request.user)}
    if form.awaits_dates:
        return _render_dashboard(request, {**context, "awaits_dates": True})
    # The form comes back too (out of band) when it has messages to show, or showed some
    # that must go (its requests then carry X-Filter-Errors). Otherwise it is left alone:
    # a date being typed is never overwritten, and the board's own poll never touches it.
    context["filters_oob"] = (
        request.htmx
        and request.htmx.trigger == "scoreboard-filters"
        and (bool(form.errors) or "X-Filter-Errors" in request.headers)
    )
    if form.is_bound and not form.is_valid():
        # A window that cannot be read shows why, field by field, and no figures: never
        # another period's figures under the filters the person just chose.
        return _render_dashboard(request, context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    workflow, tz = data.get("workflow"), request.user.zone
    today = timezone.localdate(timezone=tz)
    period = dashboard.window_period(
        data.get("period"), data.get("since"), data.get("until"), tz, today
    )
    context.update(
        workflow=workflow,
        period=period,
        board=board_cache.board(workflow=workflow, period=period, tz=tz, today=today),
        can_set_target=workflow is not None and workflow.can_edit(request.user),
    )
    if context["can_set_target"]:
        board = context["board"]
        context["target_form"] = TargetForm(
            initial={
                "metric": board["goal_metric"] or "average",
                "clock": board["goal_clock"] or "calendar",
                "target_days": board["goal_days"],
            }
        )
    return _render_dashboard(request, context)


def _render_dashboard(request, context, status=200):
    template = "scoreboard/dashboard.html#board" if request.htmx else "scoreboard/dashboard.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def target_set(request, pk):
    workflow = get_object_or_404(Workflow.objects.counted(), pk=pk)
    if not workflow.can_edit(request.user):
        raise PermissionDenied("Only the leads of this workflow's teams set its target.")
    form = TargetForm(request.POST)
    if form.is_valid():
        try:
            quarter_target_set(
                workflow=workflow,
                by=request.user,
                metric=form.cleaned_data["metric"],
                clock=form.cleaned_data["clock"],
                target_days=form.cleaned_data["target_days"],
            )
            messages.success(request, f"Quarter target for {workflow.name} saved.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(
            request,
            " ".join(f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()),
        )
    return redirect(f"{reverse('scoreboard:dashboard')}?workflow={workflow.pk}")


@login_required
def import_view(request):
    if not _can_import(request.user):
        raise PermissionDenied("Only leads and admins import event logs.")
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"nav_active": "scoreboard", "form": form}
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "import":
            return _import_confirmed(request, form, context)
        _import_preview(request, form, context)
    return render(request, "scoreboard/import.html", context)


def _import_preview(request, form, context):
    upload = form.cleaned_data["file"]
    if upload is None:
        form.add_error("file", "Choose a CSV file.")
        return
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        form.add_error("file", "The file is not UTF-8 text.")
        return
    parsed = parse_event_log(io.StringIO(text, newline=""))
    try:
        validate_workflow_name(form.cleaned_data["workflow"])
    except ValidationError as exc:
        form.add_error("workflow", exc.message_dict["workflow"])
    context.update(parsed=parsed, preview=parsed.preview() if parsed.rows else None)
    if parsed.is_valid and not form.errors:
        token = secrets.token_urlsafe(16)
        if cache_set(f"scoreboard-import:{request.user.pk}:{token}", text, UPLOAD_TTL):
            context["token"] = token
        else:
            form.add_error("file", "The preview cannot be kept right now; try again in a minute.")


def _import_confirmed(request, form, context):
    token = form.cleaned_data["token"]
    text = cache_get(f"scoreboard-import:{request.user.pk}:{token}") if token else None
    if text is None:
        form.add_error("file", "The preview expired; choose the file again.")
        return render(request, "scoreboard/import.html", context)
    if len(text.encode()) > IN_BACKGROUND_ABOVE_BYTES:
        return _import_in_background(request, form, context, token, text)
    parsed = parse_event_log(io.StringIO(text, newline=""))
    try:
        workflow = event_log_import(
            parsed=parsed, workflow_name=form.cleaned_data["workflow"], by=request.user
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return render(request, "scoreboard/import.html", context)
    cache_delete(f"scoreboard-import:{request.user.pk}:{token}")
    messages.success(
        request, f"Imported {parsed.preview()['cases']} delivered items into “{workflow.name}”."
    )
    return redirect(_imported_dashboard_url(workflow))


def _import_in_background(request, form, context, token, text):
    """A big log: its name checked now, then imported by a task behind a progress bar."""
    try:
        name = validate_workflow_name(form.cleaned_data["workflow"])
    except ValidationError as exc:
        add_service_errors(form, exc)
        return render(request, "scoreboard/import.html", context)
    run = import_run_start(by=request.user, workflow_name=name, text=text)
    cache_delete(f"scoreboard-import:{request.user.pk}:{token}")
    return redirect(run)


def _imported_dashboard_url(workflow):
    """The scoreboard of the imported workflow, over the whole span of its history."""
    span = workflow.items.aggregate(first=Min("requested_at"), last=Max("delivered_at"))
    return (
        f"{reverse('scoreboard:dashboard')}?workflow={workflow.pk}&period=custom"
        f"&since={span['first'].date().isoformat()}&until={span['last'].date().isoformat()}"
    )


@login_required
@require_safe
def import_run_view(request, pk):
    """An import behind a progress bar; once done, the page it leads to."""
    if not _can_import(request.user):
        raise PermissionDenied("Only leads and admins import event logs.")
    runs = ImportRun.objects.defer("source").select_related("workflow")
    if not request.user.is_admin:
        runs = runs.filter(requested_by=request.user)
    run = get_object_or_404(runs, pk=parse_id(pk))
    if request.htmx and request.GET.get("poll") and not run.is_running:
        return HttpResponseClientRefresh()  # finished while the page polled: show the result
    if run.status == ImportRun.Status.DONE and run.baseline_id:
        messages.success(request, f"“{run.workflow_name}” {DRAFTED}")
        return redirect(run.workflow)
    if run.status == ImportRun.Status.DONE:
        messages.success(request, f"Imported “{run.workflow_name}” with its history.")
        return redirect(_imported_dashboard_url(run.workflow))
    template = "scoreboard/import_run.html"
    context = {"nav_active": "map" if run.baseline_id else "scoreboard", "run": run}
    return render(request, f"{template}#progress" if request.htmx else template, context)
