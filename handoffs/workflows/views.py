import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from handoffs.work.models import Recovery, WorkItem
from handoffs.workflows import services as wf
from handoffs.workflows.forms import (
    ChecklistItemForm,
    FieldDefinitionForm,
    ProtocolSettingsForm,
    StageForm,
    WorkflowForm,
    policy_context,
)
from handoffs.workflows.models import Handoff, ProtocolVersion, Stage, Workflow
from opshub.lib.ids import parse_id

# --- Workflows and protocols -----------------------------------------------------------------


def _editable_workflow(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    if not workflow.can_edit(request.user):
        raise PermissionDenied("Only leads of the teams in this workflow and admins can change it.")
    return workflow


def _workflow_context(request, workflow, **extra):
    workflow = wf.with_structure(Workflow.objects.filter(pk=workflow.pk)).get()
    handoffs = {h.from_stage_id: h for h in wf.link_stages(workflow)}
    stages = workflow.stages.all()
    counts = dict(
        WorkItem.objects.filter(workflow=workflow)
        .values_list("stage")
        .annotate(n=Count("pk"))
        .values_list("stage", "n")
    )
    rows = [(stage, counts.get(stage.pk, 0), handoffs.get(stage.pk)) for stage in stages]
    return {
        "workflow": workflow,
        "rows": rows,
        "can_edit": workflow.can_edit(request.user),
        "stage_form": StageForm(workflow=workflow),
        "nav_active": "workflows",
        **policy_context(workflow, request.user),
        **extra,
    }


def _render_stages(request, workflow, status=200, **extra):
    context = _workflow_context(request, workflow, **extra)
    if request.htmx:
        return render(request, "handoffs/workflow_detail.html#stages", context, status=status)
    return render(request, "handoffs/workflow_detail.html", context, status=status)


@login_required
@require_safe
def workflow_list(request):
    workflows = wf.with_structure(Workflow.objects.all())
    rows = []
    for workflow in workflows:
        handoffs = wf.link_stages(workflow)
        rows.append((workflow, handoffs, sum(1 for h in handoffs if h.current)))
    can_create = request.user.can_create_workflows
    return render(
        request,
        "handoffs/workflow_list.html",
        {"rows": rows, "can_create": can_create, "nav_active": "workflows"},
    )


@login_required
def workflow_create(request):
    if not request.user.can_create_workflows:
        raise PermissionDenied("Only leads and admins can create workflows.")
    form = WorkflowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workflow = wf.workflow_create(by=request.user, **form.cleaned_data)
        messages.success(request, f"“{workflow}” created. Now add its stages, in order.")
        return redirect(workflow)
    return render(
        request,
        "handoffs/workflow_form.html",
        {"form": form, "nav_active": "workflows"},
        status=400 if form.errors else 200,
    )


@login_required
def workflow_edit(request, pk):
    workflow = _editable_workflow(request, pk)
    form = WorkflowForm(request.POST or None, instance=workflow)
    if request.method == "POST" and form.is_valid():
        wf.workflow_update(workflow=workflow, by=request.user, **form.cleaned_data)
        messages.success(request, "Workflow saved.")
        return redirect(workflow)
    context = {"form": form, "workflow": workflow, "nav_active": "workflows"}
    context["removal_problems"] = wf.workflow_removal_problems(workflow)
    return render(
        request, "handoffs/workflow_form.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def workflow_delete(request, pk):
    workflow = _editable_workflow(request, pk)
    try:
        wf.workflow_delete(workflow=workflow, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("handoffs:workflow-edit", pk=pk)
    messages.success(request, f"“{workflow.name}” deleted.")
    return redirect("handoffs:workflow-list")


@login_required
@require_safe
def workflow_detail(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    return render(request, "handoffs/workflow_detail.html", _workflow_context(request, workflow))


@login_required
@require_POST
def stage_add(request, pk):
    workflow = _editable_workflow(request, pk)
    form = StageForm(request.POST, workflow=workflow)
    if not form.is_valid():
        return _render_stages(request, workflow, status=400, stage_form=form)
    stage = wf.stage_add(workflow=workflow, by=request.user, **form.cleaned_data)
    return _render_stages(request, workflow, notice=f"Stage “{stage.name}” added.")


@login_required
def stage_edit(request, pk):
    stage = get_object_or_404(Stage.objects.select_related("workflow"), pk=pk)
    workflow = _editable_workflow(request, stage.workflow_id)
    form = StageForm(request.POST or None, instance=stage, workflow=workflow, prefix="edit")
    if request.method == "POST" and form.is_valid():
        wf.stage_update(stage=stage, by=request.user, **form.cleaned_data)
        return _render_stages(request, workflow, notice=f"Stage “{stage.name}” saved.")
    invalid = 400 if form.errors else 200
    return _render_stages(request, workflow, status=invalid, editing=stage.pk, edit_form=form)


@login_required
@require_POST
def stage_move(request, pk):
    stage = get_object_or_404(Stage.objects.select_related("workflow"), pk=pk)
    workflow = _editable_workflow(request, stage.workflow_id)
    wf.stage_move(stage=stage, by=request.user, offset=-1 if request.POST.get("to") == "up" else 1)
    return _render_stages(request, workflow)


@login_required
@require_POST
def stage_remove(request, pk):
    stage = get_object_or_404(Stage.objects.select_related("workflow"), pk=pk)
    workflow = _editable_workflow(request, stage.workflow_id)
    try:
        wf.stage_remove(stage=stage, by=request.user)
    except ValidationError as exc:
        return _render_stages(request, workflow, status=400, problems=exc.messages)
    return _render_stages(request, workflow, notice=f"Stage “{stage.name}” removed.")


# Protocols


def _handoff_for(request, pk):
    handoff = get_object_or_404(
        Handoff.objects.select_related("workflow", "from_stage__team"), pk=pk
    )
    return handoff


def _protocol_context(request, handoff, **extra):
    versions = handoff.versions.select_related("created_by", "published_by").order_by("-number")
    return {
        "handoff": handoff,
        "workflow": handoff.workflow,
        "versions": versions,
        # The people and team the page names come with the version, in one query.
        "current": handoff.versions.filter(status=ProtocolVersion.Status.PUBLISHED)
        .select_related("receiving_team", "default_assignee", "recovery_owner")
        .order_by("-number")
        .first(),
        "draft": handoff.draft(),
        "can_edit": handoff.workflow.can_edit(request.user),
        "nav_active": "workflows",
        **extra,
    }


@login_required
@require_safe
def protocol_detail(request, pk):
    handoff = _handoff_for(request, pk)
    context = _protocol_context(request, handoff, repeats=Recovery.objects.repeats_for(handoff))
    return render(request, "handoffs/protocol_detail.html", context)


ENTRY_ACTIONS = [("up", "Move up"), ("down", "Move down"), ("remove", "Remove")]


def _editor_context(request, draft, **extra):
    taken = [f["key"] for f in draft.fields]
    failed_key, failed_form = extra.pop("failed", (None, None))
    field_forms = [
        (
            f,
            failed_form
            if f["key"] == failed_key
            else FieldDefinitionForm.for_definition(f, prefix=f"f-{f['key']}"),
        )
        for f in draft.fields
    ]
    return _protocol_context(
        request,
        draft.handoff,
        draft=draft,
        settings_form=extra.pop("settings_form", None) or ProtocolSettingsForm(instance=draft),
        checklist_form=extra.pop("checklist_form", None) or ChecklistItemForm(prefix="item"),
        field_form=extra.pop("field_form", None)
        or FieldDefinitionForm(prefix="new", taken_keys=taken),
        field_forms=field_forms,
        entry_actions=ENTRY_ACTIONS,
        problems=draft.publish_problems(),
        **extra,
    )


def _render_editor(request, draft, partial, status=200, **extra):
    """One section of the editor for htmx (which also refreshes the publish panel)."""
    context = _editor_context(request, draft, **extra)
    if request.htmx:
        response = render(request, f"handoffs/protocol_edit.html#{partial}", context, status=status)
        return trigger_client_event(response, "protocolChanged")
    return render(request, "handoffs/protocol_edit.html", context, status=status)


def _draft_for(request, pk):
    handoff = _handoff_for(request, pk)
    if not handoff.workflow.can_edit(request.user):
        raise PermissionDenied("Only leads of the teams in this workflow and admins can edit it.")
    draft = handoff.draft()
    if draft is None:
        raise Http404("This protocol has no draft; start one first.")
    return draft


def _draft_edit(view):
    """An edit that lost a race (the draft was published, or the entry removed, meanwhile)
    says so on the page instead of failing with a 500."""

    @functools.wraps(view)
    def wrapped(request, pk):
        try:
            return view(request, pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            page = "protocol-detail" if isinstance(exc, wf.DraftPublished) else "protocol-edit"
            url = reverse(f"handoffs:{page}", args=[pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)

    return wrapped


@login_required
def protocol_edit(request, pk):
    """GET shows the draft; POST starts one (a copy of the published version)."""
    handoff = _handoff_for(request, pk)
    if request.method == "POST":
        wf.protocol_draft(handoff=handoff, by=request.user)
        return redirect("handoffs:protocol-edit", pk=pk)
    draft = _draft_for(request, pk)
    return render(request, "handoffs/protocol_edit.html", _editor_context(request, draft))


@login_required
@require_POST
@_draft_edit
def protocol_settings(request, pk):
    draft = _draft_for(request, pk)
    form = ProtocolSettingsForm(request.POST, instance=draft)
    if not form.is_valid():
        return _render_editor(request, draft, "settings", 400, settings_form=form)
    wf.protocol_save(version=draft, by=request.user, **form.cleaned_data)
    return _render_editor(request, draft, "settings", saved="settings")


@login_required
@require_POST
@_draft_edit
def protocol_checklist(request, pk):
    """Adds a checklist item, or saves one when `item` names it."""
    draft = _draft_for(request, pk)
    item_id = request.POST.get("item") or None
    form = ChecklistItemForm(request.POST, prefix=f"c-{item_id}" if item_id else "item")
    if not form.is_valid():
        return _render_editor(request, draft, "checklist", 400, checklist_form=form)
    wf.checklist_save(version=draft, by=request.user, item_id=item_id, **form.cleaned_data)
    return _render_editor(request, draft, "checklist", saved="checklist")


def _field_form(request, draft):
    old_key = request.POST.get("old_key") or None
    taken = [f["key"] for f in draft.fields if f["key"] != old_key]
    prefix = f"f-{old_key}" if old_key else "new"
    return old_key, FieldDefinitionForm(request.POST, prefix=prefix, taken_keys=taken)


@login_required
@require_POST
@_draft_edit
def protocol_field(request, pk):
    """Adds a field definition, or replaces the one named by `old_key`."""
    draft = _draft_for(request, pk)
    old_key, form = _field_form(request, draft)
    if not form.is_valid():
        extra = {"field_form": form} if old_key is None else {"failed": (old_key, form)}
        return _render_editor(request, draft, "fields", 400, **extra)
    wf.field_save(version=draft, by=request.user, old_key=old_key, definition=form.definition())
    return _render_editor(request, draft, "fields", saved="fields")


@login_required
@require_POST
def protocol_field_check(request, pk):
    """Validation as you type: the problems of the field definition being edited."""
    draft = _draft_for(request, pk)
    _, form = _field_form(request, draft)
    form.is_valid()
    return render(request, "handoffs/protocol_edit.html#field-check", {"form": form})


@login_required
@require_POST
@_draft_edit
def protocol_entry(request, pk):
    """Removes or moves one checklist item or field: attr, ident, action=remove|up|down."""
    draft = _draft_for(request, pk)
    attr = "fields" if request.POST.get("attr") == "fields" else "checklist"
    ident, action = request.POST.get("ident", ""), request.POST.get("action")
    if action == "remove":
        wf.entry_remove(version=draft, by=request.user, attr=attr, ident=ident)
    else:
        offset = -1 if action == "up" else 1
        wf.entry_move(version=draft, by=request.user, attr=attr, ident=ident, offset=offset)
    return _render_editor(request, draft, attr)


@login_required
@require_safe
def protocol_problems(request, pk):
    draft = _draft_for(request, pk)
    return render(
        request,
        "handoffs/protocol_edit.html#publish",
        {"draft": draft, "problems": draft.publish_problems(), "handoff": draft.handoff},
    )


@login_required
@require_POST
def protocol_publish(request, pk):
    draft = _draft_for(request, pk)
    try:
        version = wf.protocol_publish(version=draft, by=request.user)
    except ValidationError as exc:
        messages.error(request, "Not published yet: " + " ".join(exc.messages))
        return redirect("handoffs:protocol-edit", pk=pk)
    messages.success(request, f"Version {version.number} is published and enforced from now on.")
    return redirect("handoffs:protocol-detail", pk=pk)


@login_required
@require_POST
@_draft_edit
def protocol_discard(request, pk):
    draft = _draft_for(request, pk)
    wf.protocol_discard(version=draft, by=request.user)
    messages.success(request, f"Draft v{draft.number} discarded.")
    return redirect("handoffs:protocol-detail", pk=pk)


@login_required
@require_safe
def protocol_diff(request, pk):
    handoff = _handoff_for(request, pk)
    versions = {v.number: v for v in handoff.versions.all()}
    old = versions.get(parse_id(request.GET.get("a")))
    new = versions.get(parse_id(request.GET.get("b")))
    if old is None or new is None:
        raise Http404("Pick two versions of this protocol.")
    context = _protocol_context(
        request, handoff, old=old, new=new, changes=wf.protocol_diff(old, new)
    )
    return render(request, "handoffs/protocol_diff.html", context)


@login_required
@require_safe
def protocol_print(request, pk):
    """The one-page protocol to pin on the wall (the draft with ?version=draft)."""
    handoff = _handoff_for(request, pk)
    wanted = request.GET.get("version")
    versions = handoff.versions.select_related(
        "receiving_team", "default_assignee", "recovery_owner"
    )
    if wanted == "draft":
        version = get_object_or_404(versions, status=ProtocolVersion.Status.DRAFT)
    elif wanted:
        version = get_object_or_404(versions, number=parse_id(wanted))
    else:
        version = versions.filter(status=ProtocolVersion.Status.PUBLISHED).first()
    if version is None:
        raise Http404("This handoff has no published protocol yet.")
    context = {"handoff": handoff, "workflow": handoff.workflow, "version": version}
    return render(request, "handoffs/protocol_print.html", context)
