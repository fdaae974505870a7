import functools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from handoffs import map as handoff_map
from handoffs import services, timeline
from handoffs import workflows as wf
from handoffs.forms import (
    CancelForm,
    ChecklistItemForm,
    CommentForm,
    FieldDefinitionForm,
    HandoffGateForm,
    ProtocolSettingsForm,
    RecoveryForm,
    StageForm,
    UnblockForm,
    WorkflowForm,
    WorkItemCreateForm,
    WorkItemEditForm,
    WorkItemFilterForm,
)
from handoffs.models import (
    Handoff,
    ProtocolVersion,
    Recovery,
    Stage,
    StallEpisode,
    Team,
    Workflow,
    WorkItem,
    team_ids_of,
)
from handoffs.services import GateError, StateConflict
from opshub.lib.forms import add_service_errors
from opshub.lib.ids import parse_id
from opshub.lib.paginator import CappedPaginator

# --- Work items, the board and the inbox (issue 4) -------------------------------------------

# A screenful each: rendering rows and cards is most of these pages' time at 100,000 items
# (`make bench`: list and board p95 within 5× the trivial page).
ITEMS_PER_PAGE = 25
CARDS_PER_COLUMN = 12


def _link_items(items):
    """Sets `url` on each item from one reverse(): a reverse() per row was a fifth of the
    board's render time at 100,000 items (`make bench`)."""
    marker = "987654321"
    head, _, tail = reverse("handoffs:item-detail", args=[marker]).partition(marker)
    for item in items:
        item.url = f"{head}{item.pk}{tail}"


def _get_item(pk):
    return get_object_or_404(WorkItem.objects.for_list().select_related("pending_version"), pk=pk)


@login_required
def item_list(request):
    filters = WorkItemFilterForm(request.GET or None)
    items = filters.filter(WorkItem.objects.all())
    page = CappedPaginator(
        items.for_rows(), ITEMS_PER_PAGE, page=request.GET.get("page"), counted=items
    ).get_page()
    # Flag stalls for this page only: a per-row subquery would run for every skipped row too.
    stalled = set(
        StallEpisode.objects.open()
        .filter(item__in=[item.pk for item in page])
        .order_by()
        .values_list("item_id", flat=True)
    )
    for item in page:
        item.stalled = item.pk in stalled
    _link_items(page)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "query": query.urlencode(), "nav_active": "work"}
    if request.htmx and not request.htmx.boosted:
        return render(request, "handoffs/workitem_list.html#results", context)
    return render(request, "handoffs/workitem_list.html", context)


@login_required
def item_create(request):
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot create work items.")
    form = WorkItemCreateForm(
        request.POST or None, initial={"workflow": request.GET.get("workflow")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = services.work_item_create(
                workflow=data["workflow"],
                title=data["title"],
                by=request.user,
                external_ref=data["external_ref"],
                requested_at=data["requested_at"],
                priority=data["priority"],
                due_date=data["due_date"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Work item “{item.title}” created in {item.stage.name}.")
            return redirect(item)
    return render(request, "handoffs/workitem_form.html", {"form": form, "nav_active": "work"})


@login_required
def item_board(request, workflow_pk=None):
    workflows = list(Workflow.objects.filter(stages__isnull=False).distinct())
    if workflow_pk is None:
        if not workflows:
            return render(request, "handoffs/board.html", {"nav_active": "work"})
        return redirect("handoffs:item-board-workflow", workflow_pk=workflows[0].pk)
    workflow = next((w for w in workflows if w.pk == workflow_pk), None)
    workflow = workflow or get_object_or_404(Workflow, pk=workflow_pk)
    columns = WorkItem.objects.board_columns(workflow, per_column=CARDS_PER_COLUMN)
    _link_items(item for column in columns for item in column["items"])
    context = {"workflow": workflow, "workflows": workflows, "columns": columns}
    return render(request, "handoffs/board.html", {**context, "nav_active": "work"})


@login_required
@require_safe
def inbox(request):
    team = None
    if request.GET.get("team"):
        team = get_object_or_404(Team, pk=parse_id(request.GET["team"]))
    team_ids = {team.pk} if team else team_ids_of(request.user)
    owners = {request.user.pk}
    if team:
        owners = set(team.members.values_list("pk", flat=True)) | {team.lead_id}
    open_recoveries = Recovery.objects.open().select_related(
        "item", "item__stage", "item__stage__team", "owner", "opened_by"
    )
    context = {
        "team": team,
        "my_teams": Team.objects.filter(pk__in=team_ids_of(request.user)),
        "waiting": WorkItem.objects.waiting_for_teams(team_ids).for_list().with_stall_flag()[:100],
        "recoveries": open_recoveries.filter(owner_id__in=owners).order_by("next_check_at")[:100],
        # Bounces sent back by the team (or me): still waiting for the sender's input.
        "bounced": open_recoveries.filter(kind=Recovery.Kind.BOUNCE, opened_by_id__in=owners)
        .exclude(owner_id__in=owners)
        .order_by("next_check_at")[:100],
        "assigned": WorkItem.objects.open()
        .filter(assignee_id__in=owners, state=WorkItem.State.IN_PROGRESS)
        .for_list()
        .with_stall_flag()
        .order_by("stage_entered_at")[:100],
        "now": timezone.now(),
        "nav_active": "work",
    }
    return render(request, "handoffs/inbox.html", context)


@login_required
@require_safe
def item_detail(request, pk):
    item = _get_item(pk)
    panel = request.GET.get("panel", "")
    if request.htmx:
        return render(
            request, "handoffs/workitem_detail.html#item", _item_context(request, item, panel)
        )
    return render(request, "handoffs/workitem_detail.html", _item_context(request, item, panel))


def _item_context(request, item, panel="", form=None):
    user = request.user
    handoff = item.stage.outgoing_handoff()
    next_version = handoff.published() if handoff else None
    recovery = item.recoveries.open().select_related("owner", "handoff__from_stage").first()
    may = {
        "work": services.can_work_on(user, item),
        "receive": services.can_receive(user, item),
        "unblock": services.can_unblock(user, item, recovery),
        "cancel": services.can_cancel(user, item) and item.is_open,
        "comment": user.can_write,
    }
    state = WorkItem.State
    actions = {
        "handoff": may["work"] and item.state == state.IN_PROGRESS and handoff is not None,
        "deliver": may["work"] and item.state == state.IN_PROGRESS and handoff is None,
        "accept": may["receive"] and item.state == state.WAITING_ACCEPTANCE,
        "bounce": may["receive"] and item.state == state.WAITING_ACCEPTANCE,
        "block": may["work"] and item.state in (state.IN_PROGRESS, state.WAITING_ACCEPTANCE),
        "unblock": may["unblock"] and item.state == state.BLOCKED,
        "cancel": may["cancel"],
        "edit": may["work"] and item.is_open,
    }
    if panel not in actions or not actions[panel]:
        panel = ""
    if form is None and panel:
        form = _panel_form(panel, item, next_version, request.user)
    events = item.events.select_related(
        "actor", "from_stage__team", "to_stage__team", "protocol_version"
    )
    definitions = services.workflow_field_definitions(item.workflow)
    labels = {key: defn.get("label") or key for key, defn in definitions.items()}
    return {
        "item": item,
        "handoff": handoff,
        "next_version": next_version,
        "recovery": recovery,
        "repeats": Recovery.objects.filter(
            handoff=recovery.handoff_id, missing_input=recovery.missing_input
        ).count()
        if recovery and recovery.handoff_id
        else 0,
        "actions": actions,
        "panel": panel,
        "panel_url": reverse(f"handoffs:item-{panel}", args=[item.pk]) if panel else "",
        "form": form,
        "comment_form": CommentForm(),
        "field_values": [(labels.get(k, k), v) for k, v in item.fields.items()],
        "timeline": timeline.story(events, labels),
        "stalls": item.stall_episodes.open(),
        "now": timezone.now(),
        "nav_active": "work",
    }


def _panel_form(panel, item, next_version, user):
    if panel == "handoff":
        return HandoffGateForm(version=next_version, item=item) if next_version else None
    if panel == "bounce":
        return RecoveryForm(version=item.pending_version)
    if panel == "block":
        return RecoveryForm(version=item.pending_version or next_version)
    if panel == "edit":
        definitions = services.workflow_field_definitions(item.workflow)
        return WorkItemEditForm(item=item, definitions=definitions)
    return {"unblock": UnblockForm, "cancel": CancelForm}.get(panel, lambda: None)()


def _item_response(request, item, *, panel="", form=None):
    """The fresh item: its whole region for htmx, else a redirect (or the page with errors)."""
    item = _get_item(item.pk)
    context = _item_context(request, item, panel, form)
    if request.htmx:
        return render(request, "handoffs/workitem_detail.html#item", context)
    if form is not None and form.errors:
        return render(request, "handoffs/workitem_detail.html", context, status=400)
    return redirect(item)


def _perform(request, item, form, panel, action, success):
    """Runs a service for a valid form; a refused action changes nothing and says why."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except GateError as exc:
            if hasattr(form, "add_gate_error"):
                form.add_gate_error(exc)
            else:
                form.add_error(None, exc.message)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except StateConflict as exc:
            messages.error(request, str(exc))
            return _item_response(request, item)
        else:
            messages.success(request, success)
            return _item_response(request, item)
    return _item_response(request, item, panel=panel, form=form)


@login_required
@require_POST
def item_handoff(request, pk):
    item = _get_item(pk)
    handoff = item.stage.outgoing_handoff()
    version = handoff.published() if handoff else None
    if version is None:
        form = forms.Form(request.POST)
        success = ""
    else:
        form = HandoffGateForm(request.POST, version=version, item=item)
        success = (
            f"Handed off to {handoff.to_stage.name}: waiting for "
            f"{version.effective_receiving_team} to accept."
        )
    return _perform(
        request,
        item,
        form,
        "handoff",
        lambda data: services.handoff_submit(
            item=item,
            by=request.user,
            checklist=request.POST.getlist("checklist"),
            fields=form.submitted_fields() if version else None,
            note=data.get("note", ""),
            expected_stage_id=item.stage_id,
        ),
        success,
    )


@login_required
@require_POST
def item_accept(request, pk):
    item = _get_item(pk)
    return _perform(
        request,
        item,
        forms.Form(request.POST),
        "",
        lambda data: services.handoff_accept(item=item, by=request.user),
        "Accepted: the item is yours now.",
    )


@login_required
@require_POST
def item_bounce(request, pk):
    item = _get_item(pk)
    form = RecoveryForm(request.POST, version=item.pending_version)
    return _perform(
        request,
        item,
        form,
        "bounce",
        lambda data: services.handoff_bounce(item=item, by=request.user, **_recovery_args(data)),
        "Bounced back with the missing input named; the recovery owner has it in their inbox.",
    )


@login_required
@require_POST
def item_block(request, pk):
    item = _get_item(pk)
    form = RecoveryForm(request.POST, version=item.pending_version)
    return _perform(
        request,
        item,
        form,
        "block",
        lambda data: services.item_block(item=item, by=request.user, **_recovery_args(data)),
        "Blocked: the recovery owner has it in their inbox.",
    )


def _recovery_args(data):
    return {
        "missing_input": data["missing_input"],
        "owner": data["owner"],
        "next_check_at": data["next_check_at"],
        "note": data["note"],
    }


@login_required
@require_POST
def item_unblock(request, pk):
    item = _get_item(pk)
    return _perform(
        request,
        item,
        UnblockForm(request.POST),
        "unblock",
        lambda data: services.item_unblock(
            item=item, by=request.user, cause=data["cause"], note=data["note"]
        ),
        "Unblocked: the recovery is closed and work resumes.",
    )


@login_required
@require_POST
def item_deliver(request, pk):
    item = _get_item(pk)
    return _perform(
        request,
        item,
        forms.Form(request.POST),
        "",
        lambda data: services.item_deliver(item=item, by=request.user),
        "Delivered. The cycle time is on the scoreboard.",
    )


@login_required
@require_POST
def item_cancel(request, pk):
    item = _get_item(pk)
    return _perform(
        request,
        item,
        CancelForm(request.POST),
        "cancel",
        lambda data: services.item_cancel(item=item, by=request.user, reason=data["reason"]),
        "Cancelled.",
    )


@login_required
@require_POST
def item_edit(request, pk):
    item = _get_item(pk)
    if not services.can_edit(request.user, item):
        raise PermissionDenied("Only the team working on this item can edit it.")
    definitions = services.workflow_field_definitions(item.workflow)
    form = WorkItemEditForm(request.POST, item=item, definitions=definitions)
    if form.is_valid():
        try:
            services.work_item_update(item=item, by=request.user, **form.changes())
        except ValidationError as exc:
            add_service_errors(form, exc)
        except StateConflict as exc:
            # Someone else saved first (or closed the item): a fresh form with their values.
            messages.error(request, str(exc))
            if not request.htmx:
                return redirect(f"{item.get_absolute_url()}?panel=edit")
            return _item_response(request, item, panel="edit")
        else:
            messages.success(request, "Details saved.")
            return _item_response(request, item)
    return _item_response(request, item, panel="edit", form=form)


@login_required
@require_POST
def item_comment(request, pk):
    item = _get_item(pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.work_item_comment(item=item, by=request.user, body=form.cleaned_data["body"])
        form = CommentForm()
    context = {**_item_context(request, item), "comment_form": form}
    if request.htmx:
        return render(request, "handoffs/workitem_detail.html#item", context)
    return (
        redirect(item)
        if not form.errors
        else render(request, "handoffs/workitem_detail.html", context, status=400)
    )


# --- Workflows, protocols and the map (issue 3) ----------------------------------------------


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
        **extra,
    }


def _render_stages(request, workflow, status=200, **extra):
    context = _workflow_context(request, workflow, **extra)
    if request.htmx:
        return render(request, "handoffs/workflow_detail.html#stages", context)
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
        "current": handoff.published(),
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
        response = render(request, f"handoffs/protocol_edit.html#{partial}", context)
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


@login_required
@require_safe
def map_view(request):
    include_sandbox = request.GET.get("sandbox") == "1"
    workflow_id = parse_id(request.GET.get("workflow"))
    workflows = Workflow.objects.all() if include_sandbox else Workflow.objects.counted()
    if workflow_id:
        workflows = workflows.filter(pk=workflow_id)
    layout = handoff_map.layout(wf.with_structure(workflows), Team.objects.all())
    context = {
        "layout": layout,
        "include_sandbox": include_sandbox,
        "workflow_id": workflow_id,
        "all_workflows": Workflow.objects.all(),
        "nav_active": "map",
    }
    return render(request, "handoffs/map.html", context)
