"""Integrations pages: intake sources and their delivery log, webhook subscriptions,
spreadsheet import and CSV export (docs/integrations.md).

Each view carries the name of the act it performs, as its service does
(`intake.source_create` ↔ `source_create`, `webhooks.subscription_update` ↔
`subscription_update`); the URL names stay as published (`intake-create`, `webhook-edit`)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from handoffs.integrations import intake, webhooks
from handoffs.integrations.forms import (
    ImportMappingForm,
    ImportUploadForm,
    IntakeSourceForm,
    WebhookSubscriptionForm,
)
from handoffs.integrations.models import IntakeDelivery, IntakeSource, WebhookSubscription
from handoffs.work import exports, imports, sheets
from handoffs.work.models import ImportBatch
from handoffs.workflows.models import Workflow
from opshub.accounts.models import AuditEntry

LOG_PAGE_SIZE = 50
PREVIEW_ROWS = 10


def _require_admin(request):
    if not request.user.is_admin:
        raise PermissionDenied("Only admins manage integrations.")


def _context(request, **extra):
    return {"nav_active": "integrations", **extra}


# --- Intake sources ------------------------------------------------------------------------------


@login_required
@require_safe
def source_list(request):
    _require_admin(request)
    sources = IntakeSource.objects.select_related("workflow", "stage__team", "assignee")
    return render(request, "handoffs/intake_list.html", _context(request, sources=sources))


def _show_secret(request, source, *, created):
    base = request.build_absolute_uri("/").rstrip("/")
    context = _context(request, source=source, created=created, base_url=base)
    return render(request, "handoffs/intake_secret.html", context)


@login_required
def source_create(request):
    _require_admin(request)
    form = IntakeSourceForm(request.POST or None, initial={"title_path": "deal.name"})
    if request.method == "POST" and form.is_valid():
        source = intake.source_create(source=form.save(commit=False), by=request.user)
        return _show_secret(request, source, created=True)
    return render(request, "handoffs/intake_form.html", _context(request, form=form))


@login_required
def source_update(request, pk):
    _require_admin(request)
    source = get_object_or_404(IntakeSource, pk=pk)
    before = intake.audited(source)
    form = IntakeSourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        form.save()
        intake.source_audit(
            source=source, by=request.user, action=AuditEntry.Action.UPDATE, before=before
        )
        messages.success(request, f"Saved “{source.name}”.")
        return redirect(source)
    context = _context(request, form=form, source=source)
    return render(request, "handoffs/intake_form.html", context)


@login_required
@require_POST
def source_rotate_secret(request, pk):
    _require_admin(request)
    source = get_object_or_404(IntakeSource, pk=pk)
    intake.source_rotate_secret(source=source, by=request.user)
    return _show_secret(request, source, created=False)


@login_required
@require_safe
def source_detail(request, pk):
    _require_admin(request)
    source = get_object_or_404(
        IntakeSource.objects.select_related("workflow", "stage__team", "assignee"), pk=pk
    )
    deliveries = source.deliveries.select_related("item").order_by("-received_at", "-pk")
    status = request.GET.get("status", "")
    if status in IntakeDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = _context(
        request,
        source=source,
        page=page,
        status=status,
        statuses=IntakeDelivery.Status.choices,
        paths=intake.mapping_paths(source.mapping),
        endpoint=request.build_absolute_uri(f"/api/v1/intake/{source.slug}/"),
    )
    if request.htmx:
        return render(request, "handoffs/intake_detail.html#log", context)
    return render(request, "handoffs/intake_detail.html", context)


@login_required
@require_safe
def delivery_detail(request, pk):
    _require_admin(request)
    delivery = get_object_or_404(IntakeDelivery.objects.select_related("source", "item"), pk=pk)
    payload = json.dumps(delivery.payload, indent=2, ensure_ascii=False)
    context = _context(request, delivery=delivery, payload=payload)
    return render(request, "handoffs/intake_delivery.html", context)


# --- Outbound webhooks ---------------------------------------------------------------------------


@login_required
def subscription_list(request):
    _require_admin(request)
    form = WebhookSubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subscription = webhooks.subscription_create(by=request.user, **form.cleaned_data)
        context = _context(request, subscription=subscription)
        return render(request, "handoffs/webhook_secret.html", context)
    subscriptions = list(WebhookSubscription.objects.all())
    context = _context(
        request,
        subscriptions=[s for s in subscriptions if s.deleted_at is None],
        deleted=[s for s in subscriptions if s.deleted_at is not None],
        form=form,
    )
    return render(request, "handoffs/webhook_list.html", context)


@login_required
@require_safe
def subscription_detail(request, pk):
    _require_admin(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    deliveries = subscription.deliveries.order_by("-created_at", "-pk")
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    in_flight = any(d.status in ("pending", "sending") for d in page.object_list)
    context = _context(request, subscription=subscription, page=page, in_flight=in_flight)
    if request.htmx:
        return render(request, "handoffs/webhook_detail.html#log", context)
    return render(request, "handoffs/webhook_detail.html", context)


def _live_subscription(request, pk):
    """An admin's subscription that can still change (a deleted one is read-only)."""
    _require_admin(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    if subscription.deleted_at is not None:
        raise PermissionDenied(str(webhooks.SubscriptionDeleted()))
    return subscription


@login_required
@require_POST
def subscription_send_test(request, pk):
    subscription = _live_subscription(request, pk)
    webhooks.send_test(subscription)
    messages.success(request, "Test delivery queued: it appears in the log below in a moment.")
    return redirect(subscription)


@login_required
@require_POST
def subscription_toggle(request, pk):
    subscription = _live_subscription(request, pk)
    webhooks.subscription_update(
        subscription=subscription, by=request.user, is_active=not subscription.is_active
    )
    state = "resumed" if subscription.is_active else "paused"
    messages.success(request, f"“{subscription.name}” {state}.")
    return redirect(subscription)


@login_required
def subscription_update(request, pk):
    subscription = _live_subscription(request, pk)
    # Not bound to the instance: validation must not change it before the service compares.
    initial = {name: getattr(subscription, name) for name in webhooks.AUDITED_FIELDS}
    form = WebhookSubscriptionForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        webhooks.subscription_update(
            subscription=subscription, by=request.user, **form.cleaned_data
        )
        messages.success(request, f"Saved “{subscription.name}”.")
        return redirect(subscription)
    context = _context(request, form=form, subscription=subscription)
    return render(request, "handoffs/webhook_form.html", context)


@login_required
@require_POST
def subscription_rotate_secret(request, pk):
    subscription = _live_subscription(request, pk)
    webhooks.subscription_rotate_secret(subscription=subscription, by=request.user)
    context = _context(request, subscription=subscription, rotated=True)
    return render(request, "handoffs/webhook_secret.html", context)


@login_required
def subscription_delete(request, pk):
    """GET asks for confirmation; POST deletes (softly: the delivery log stays readable)."""
    subscription = _live_subscription(request, pk)
    if request.method == "POST":
        webhooks.subscription_delete(subscription=subscription, by=request.user)
        messages.success(request, f"Deleted “{subscription.name}”; its delivery log is kept.")
        return redirect(subscription)
    unsent = subscription.deliveries.filter(status__in=["pending", "sending"]).count()
    context = _context(request, subscription=subscription, unsent=unsent)
    return render(request, "handoffs/webhook_delete.html", context)


# --- Spreadsheet import and CSV export ------------------------------------------------------


@login_required
def import_upload(request):
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot import.")
    form = ImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        batch = ImportBatch.objects.create(
            workflow=form.cleaned_data["workflow"],
            filename=form.cleaned_data["file"].name[:200],
            content=form.content,
            uploaded_by=request.user,
            row_count=len(form.sheet.rows),
        )
        return redirect(batch)
    context = _context(
        request,
        nav_active="import",
        form=form,
        workflows=Workflow.objects.filter(stages__isnull=False).distinct(),
        batches=ImportBatch.objects.filter(uploaded_by=request.user)
        .select_related("workflow")
        .defer("content")[:10],
    )
    status = 400 if form.errors else 200
    return render(request, "handoffs/import_upload.html", context, status=status)


@login_required
def import_detail(request, pk):
    batch = get_object_or_404(ImportBatch.objects.select_related("workflow"), pk=pk)
    if batch.uploaded_by_id != request.user.pk or not batch.workflow.can_edit(request.user):
        raise PermissionDenied("Only who uploaded this file can import it.")
    try:
        sheet = sheets.parse(bytes(batch.content), batch.filename)
    except sheets.ImportProblem as exc:
        messages.error(request, f"{batch.filename} can no longer be read: {exc}")
        return redirect("handoffs:import-upload")
    saved = imports.remembered(batch.workflow)
    form = ImportMappingForm(
        request.POST or None,
        headers=sheet.headers,
        workflow=batch.workflow,
        initial_mapping=imports.guess_mapping(sheet.headers, batch.workflow, saved),
        date_order=saved.date_order,
    )
    context = _context(request, nav_active="import", batch=batch, sheet=sheet, form=form, plan=None)
    if request.method == "POST" and form.is_valid() and not batch.committed_at:
        response = _import_step(request, batch, sheet, form, context)
        if response is not None:
            return response
    context["preview"] = _preview(sheet, form, batch.workflow)
    return render(request, "handoffs/import_detail.html", context)


def _import_step(request, batch, sheet, form, context):
    """Dry run (shows every bad row) or commit (all rows or none)."""
    try:
        mapping = imports.clean_mapping(form.mapping(), sheet.headers, batch.workflow)
    except ValidationError as exc:
        context["mapping_errors"] = exc.messages
        return None
    date_order = form.date_order()
    imports.remember_mapping(batch.workflow, mapping, request.user, date_order)
    if request.POST.get("action") != "commit":
        context["plan"] = imports.validate(sheet, mapping, batch.workflow, date_order)
        return None
    try:
        items = imports.import_commit(
            batch=batch, mapping=mapping, by=request.user, date_order=date_order
        )
    except (ValidationError, sheets.ImportProblem) as exc:
        problems = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        context["commit_errors"] = problems[: sheets.MAX_ERRORS_SHOWN]
        return None
    messages.success(request, f"Imported {len(items):,} work items into {batch.workflow.name}.")
    return redirect(f"/work/?workflow={batch.workflow.pk}")


def _preview(sheet, form, workflow):
    mapping = form.mapping() if form.is_bound and form.is_valid() else form.initial_mapping()
    try:
        mapping = imports.clean_mapping(mapping, sheet.headers, workflow)
    except ValidationError:
        return None
    head = sheets.Sheet(headers=sheet.headers, rows=sheet.rows[:PREVIEW_ROWS])
    return imports.preview(head, mapping, workflow, form.date_order())


def _csv_response(rows, filename):
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def export_items(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    stamp = timezone.now().strftime("%Y%m%d")
    return _csv_response(exports.export_items_rows(workflow), f"{workflow.slug}-items-{stamp}.csv")


@login_required
@require_safe
def export_events(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    stamp = timezone.now().strftime("%Y%m%d")
    rows = exports.export_events_rows(workflow)
    return _csv_response(rows, f"{workflow.slug}-events-{stamp}.csv")
