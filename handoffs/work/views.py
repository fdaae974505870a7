from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST, require_safe

from handoffs.decisions.models import Decision
from handoffs.signals import item_page_panels
from handoffs.stalls.models import StallEpisode
from handoffs.work import permissions, services, timeline, transitions
from handoffs.work.forms import (
    CancelForm,
    CommentForm,
    HandoffGateForm,
    RecoveryForm,
    UnblockForm,
    WorkItemCreateForm,
    WorkItemEditForm,
    WorkItemFilterForm,
)
from handoffs.work.models import (
    UNDO_DELIVERY_WINDOW,
    BoardFilter,
    DueForecast,
    Recovery,
    WorkItem,
)
from handoffs.work.services import GateError, StateConflict
from handoffs.workflows.models import (
    ProtocolVersion,
    Team,
    Workflow,
    remember_team_ids,
    team_ids_of,
    team_ids_subquery,
)
from opshub.lib.forms import add_service_errors
from opshub.lib.ids import parse_id
from opshub.lib.paginator import CappedPaginator
from opshub.lib.timezones import clock_for
from opshub.lib.urls import url_maker

# --- Work items, the board and the inbox --------------------------------------------------

# A screenful each: rendering rows and cards is most of these pages' time at 100,000 items
# (`make bench`: list and board p95 within 5× the trivial page).
ITEMS_PER_PAGE = 25
UNDO_MINUTES = int(UNDO_DELIVERY_WINDOW.total_seconds() // 60)
CARDS_PER_COLUMN = 12
# How far past the page a title search counts its matches ("200+ items · page 1 of 9+").
SEARCH_COUNT_AHEAD = 200


def _link_items(items):
    """Sets `url` on each item (from one reverse())."""
    url = url_maker("handoffs:item-detail")
    for item in items:
        item.url = url(item.pk)


def _get_item(pk, viewer=None):
    """The item as its page shows it. Its open stalls, whether a recovery is open or any
    decision was recorded, and the `viewer`'s teams (which the rights ask) come with it: a
    query each, on every view, were four of the page's nineteen (most items have neither a
    recovery nor a decision). Read when needed, not joined (each join was an eighth of
    this query, planned and built on every view): the stage team's lead, whom a refusal
    names ("ask Sam (lead)"), and the pending handoff's version, which only a waiting item
    shows (an accepted item keeps it)."""
    stalls = StallEpisode.objects.open().filter(item=OuterRef("pk")).values("kind")
    # The stored 85% date (the at-risk marker) as a subquery, not with_due_estimate's join:
    # planning this query, not running it, is its cost, and an eighth joined table made
    # the planner's search half again as long (1.9 → 1.2 ms of planning on the 100k set).
    due = DueForecast.objects.filter(item=OuterRef("pk")).values("p85_at")
    items = WorkItem.objects.for_list().annotate(
        due_estimate=Subquery(due),
        open_stall_kinds=ArraySubquery(stalls),
        recovering=Exists(Recovery.objects.open().filter(item=OuterRef("pk"))),
        has_decisions=Exists(Decision.objects.filter(item=OuterRef("pk"))),
    )
    viewing = viewer is not None and viewer.is_authenticated
    if viewing:
        items = items.annotate(viewer_team_ids=team_ids_subquery(viewer))
    item = get_object_or_404(items, pk=pk)
    if viewing:
        remember_team_ids(viewer, item.viewer_team_ids)
    return item


@login_required
def item_list(request):
    filters = WorkItemFilterForm(request.GET or None)
    items = filters.filter(WorkItem.objects.all())
    # A search's count rechecks each match's title in the table (a trigram index finds
    # candidates, not matches): a common word's count was four times the page's query.
    searching = filters.is_valid() and bool(filters.cleaned_data["q"].strip())
    page = CappedPaginator(
        items.for_rows(),
        ITEMS_PER_PAGE,
        page=request.GET.get("page"),
        counted=items,
        ahead=SEARCH_COUNT_AHEAD if searching else None,
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
def work_item_create(request):
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
    shown = set(request.GET.getlist("show"))
    show = [name for name, _ in BoardFilter.CHOICES if name in shown]
    only = BoardFilter.combined(
        show, user=request.user, team_ids=team_ids_of(request.user), today=timezone.localdate()
    )
    columns = WorkItem.objects.board_columns(workflow, per_column=CARDS_PER_COLUMN, only=only)
    _link_items(item for column in columns for item in column["items"])
    _offer_card_actions(request.user, columns)
    context = {
        "workflow": workflow,
        "workflows": workflows,
        "columns": columns,
        "show": show,
        "filters": _filter_toggles(show),
        "board_url": request.get_full_path(),
    }
    return render(request, "handoffs/board.html", {**context, "nav_active": "work"})


def _filter_toggles(show):
    """Each board filter as a toggle: whether it is on, and the link that flips it while
    keeping the others (the filters combine, and the URL says which are on)."""
    toggles = []
    for name, label in BoardFilter.CHOICES:
        names = [n for n in show if n != name] if name in show else [*show, name]
        ordered = [n for n, _ in BoardFilter.CHOICES if n in names]
        query = urlencode([("show", n) for n in ordered])
        toggles.append({"name": name, "label": label, "on": name in show, "query": query})
    return toggles


def _offer_card_actions(user, columns):
    """Sets `can_accept` and `can_hand_off` on each card from the same rules as the item page,
    with the pending protocol versions loaded in one query for the whole board."""
    cards = [(column, item) for column in columns for item in column["items"]]
    pending = {item.pending_version_id for _, item in cards if item.pending_version_id}
    versions = ProtocolVersion.objects.select_related("receiving_team", "handoff").in_bulk(pending)
    # A handoff's next stage is the next column: known here, so not asked per card.
    following = {column["stage"].pk: column["next"] for column in columns}
    for version in versions.values():
        version.handoff._to_stage = following.get(version.handoff.from_stage_id)
    for column, item in cards:
        if item.pending_version_id:
            item.pending_version = versions[item.pending_version_id]
        waiting = item.state == WorkItem.State.WAITING_ACCEPTANCE
        item.can_accept = waiting and permissions.can_receive(user, item)
        moving = item.state == WorkItem.State.IN_PROGRESS and column["next"] is not None
        item.can_hand_off = moving and permissions.can_work_on(user, item)


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
        "waiting": WorkItem.objects.waiting_for_teams(team_ids)
        .for_list()
        .with_stall_flag()
        .with_due_estimate()[:100],
        "recoveries": open_recoveries.filter(owner_id__in=owners).order_by("next_check_at")[:100],
        # Bounces sent back by the team (or me): still waiting for the sender's input.
        "bounced": open_recoveries.filter(kind=Recovery.Kind.BOUNCE, opened_by_id__in=owners)
        .exclude(owner_id__in=owners)
        .order_by("next_check_at")[:100],
        "assigned": WorkItem.objects.open()
        .filter(assignee_id__in=owners, state=WorkItem.State.IN_PROGRESS)
        .for_list()
        .with_stall_flag()
        .with_due_estimate()
        .order_by("stage_entered_at")[:100],
        "now": timezone.now(),
        "nav_active": "inbox",
    }
    return render(request, "handoffs/inbox.html", context)


@login_required
@require_safe
def item_detail(request, pk):
    item = _get_item(pk, viewer=request.user)
    panel = request.GET.get("panel", "")
    if request.htmx:
        return render(
            request, "handoffs/workitem_detail.html#item", _item_context(request, item, panel)
        )
    return render(request, "handoffs/workitem_detail.html", _item_context(request, item, panel))


def _item_context(request, item, panel="", form=None):
    user = request.user
    # The workflow's stages, read once: the next one and the names the history shows.
    stages = list(item.workflow.stages.select_related("team").order_by("position"))
    # Its published protocols, read once: the next handoff's and every field's label.
    published = item.workflow.published_versions()
    handoff, next_version = item.stage.outgoing_protocol(stages, published)
    recovery = (
        item.recoveries.open().select_related("owner", "handoff__from_stage").first()
        if item.recovering
        else None
    )
    available = permissions.available_actions(user, item, handoff=handoff, recovery=recovery)
    actions = {name: action.allowed for name, action in available.items()}
    # Every action not offered, grouped by why: the refusals by rights (another team's
    # stage: whom to ask) first and in view, the item's state ones folded away.
    refusals, not_now = _grouped_refusals(available)
    if panel not in PANELS or not actions[panel]:
        panel = ""
    if form is None and panel:
        form = _panel_form(panel, item, next_version, request.user)
    # The timeline names people, stages, teams and a version by its number: only those
    # columns of the joined rows are read (a version's checklist, fields and answers, JSON
    # and text per event, stay in the database), and the stages come from the workflow's
    # (four joins and two stage and team objects per event were most of its cost).
    events = item.events.select_related("actor", "protocol_version").only(*TIMELINE_COLUMNS)
    events = _with_stages(events, {stage.pk: stage for stage in stages})
    definitions = services.workflow_field_definitions(item.workflow, published)
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
        "refusals": refusals,
        "not_now": not_now,
        # In the viewer's own time zone, with its name: "Undo delivery (until 14:32 CET)".
        "undo_until": clock_for(user, item.undo_delivery_until()),
        "undo_minutes": UNDO_MINUTES,
        "panel": panel,
        "panel_url": reverse(f"handoffs:item-{panel}", args=[item.pk]) if panel else "",
        "form": form,
        "comment_form": CommentForm(),
        "field_values": [(labels.get(k, k), v) for k, v in item.fields.items()],
        "timeline": timeline.story(events, labels),
        "stalls": [StallEpisode.Kind(kind).label for kind in item.open_stall_kinds],
        "side_panels": [
            html
            for _, html in item_page_panels.send(sender=WorkItem, item=item, viewer=user)
            if html
        ],
        "now": timezone.now(),
        "nav_active": "work",
    }


TIMELINE_COLUMNS = (
    "item_id",
    "kind",
    "at",
    "payload",
    "from_stage_id",
    "to_stage_id",
    "actor__full_name",
    "actor__email",
    "protocol_version__number",
)


def _with_stages(events, stages):
    """The events with their from and to stages set from `stages` ({id: stage}); a stage
    not among them (none should be) is read as before."""
    events = list(events)
    for event in events:
        for name in ("from_stage", "to_stage"):
            stage = stages.get(getattr(event, f"{name}_id"))
            if stage is not None:
                setattr(event, name, stage)
    return events


# The actions that open a panel on the item page (claim and undo are one-click forms).
PANELS = {"handoff", "accept", "bounce", "block", "unblock", "deliver", "edit", "cancel"}

ACTION_LABELS = {
    "handoff": "Hand off",
    "accept": "Accept",
    "bounce": "Bounce",
    "unblock": "Unblock",
    "deliver": "Deliver",
    "undo_delivery": "Undo delivery",
    "block": "Block",
    "claim": "Claim",
    "edit": "Edit details",
    "cancel": "Cancel",
}


def _grouped_refusals(available):
    """([(why, [labels])] refused by rights, [(why, [labels])] refused by the item's state)."""
    groups = {True: {}, False: {}}
    for name, action in available.items():
        if not action.allowed:
            groups[action.refused_by_rights].setdefault(action.why_not, []).append(
                ACTION_LABELS[name]
            )
    return list(groups[True].items()), list(groups[False].items())


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
    item = _get_item(item.pk, viewer=request.user)
    context = _item_context(request, item, panel, form)
    # A refused form answers 400 with its messages; the layout's htmx config swaps 400 in place.
    status = 400 if form is not None and form.errors else 200
    if request.htmx:
        return render(request, "handoffs/workitem_detail.html#item", context, status=status)
    if status == 400:
        return render(request, "handoffs/workitem_detail.html", context, status=status)
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


def _one_click(request, pk, service, success):
    """An action without a form of its own (accept, deliver, undo, claim)."""
    item = _get_item(pk)
    return _perform(
        request,
        item,
        forms.Form(request.POST),
        "",
        lambda data: service(item=item, by=request.user),
        success,
    )


@login_required
@require_POST
def handoff_submit(request, pk):
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
        lambda data: transitions.handoff_submit(
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
def handoff_accept(request, pk):
    back = _back_to(request)
    if back:
        # From a board card: the answer is that board again, with the outcome as a flash.
        item = _get_item(pk)
        try:
            transitions.handoff_accept(item=item, by=request.user)
        except (StateConflict, PermissionDenied) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Accepted “{item.title}”: it is yours now.")
        return redirect(back)
    return _one_click(request, pk, transitions.handoff_accept, "Accepted: the item is yours now.")


def _back_to(request):
    """The page of this site a card action returns to (`next`), or "" when none or foreign."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    # A path only: redirect() reads a bare word ("²") as a URL name and fails (a 500).
    return target if safe and target.startswith("/") else ""


@login_required
@require_POST
def handoff_bounce(request, pk):
    item = _get_item(pk)
    form = RecoveryForm(request.POST, version=item.pending_version)
    return _perform(
        request,
        item,
        form,
        "bounce",
        lambda data: transitions.handoff_bounce(item=item, by=request.user, **_recovery_args(data)),
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
        lambda data: transitions.item_block(item=item, by=request.user, **_recovery_args(data)),
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
        lambda data: transitions.item_unblock(
            item=item, by=request.user, cause=data["cause"], note=data["note"]
        ),
        "Unblocked: the recovery is closed and work resumes.",
    )


@login_required
@require_POST
def item_deliver(request, pk):
    return _one_click(
        request,
        pk,
        transitions.item_deliver,
        "Delivered. The cycle time is on the scoreboard; you can undo it for "
        f"{UNDO_MINUTES} minutes.",
    )


@login_required
@require_POST
def item_deliver_undo(request, pk):
    return _one_click(
        request,
        pk,
        transitions.item_deliver_undo,
        "Delivery undone: the item is in progress again, and its history says so.",
    )


@login_required
@require_POST
def item_claim(request, pk):
    return _one_click(request, pk, transitions.item_claim, "Claimed: the item is yours now.")


@login_required
@require_POST
def item_cancel(request, pk):
    item = _get_item(pk)
    return _perform(
        request,
        item,
        CancelForm(request.POST),
        "cancel",
        lambda data: transitions.item_cancel(item=item, by=request.user, reason=data["reason"]),
        "Cancelled.",
    )


@login_required
@require_POST
def work_item_update(request, pk):
    item = _get_item(pk)
    if not permissions.can_edit(request.user, item):
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
def work_item_comment(request, pk):
    item = _get_item(pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.work_item_comment(item=item, by=request.user, body=form.cleaned_data["body"])
        form = CommentForm()
    context = {**_item_context(request, item), "comment_form": form}
    if request.htmx:
        status = 400 if form.errors else 200
        return render(request, "handoffs/workitem_detail.html#item", context, status=status)
    return (
        redirect(item)
        if not form.errors
        else render(request, "handoffs/workitem_detail.html", context, status=400)
    )
