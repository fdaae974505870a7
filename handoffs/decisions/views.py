"""Pages for decision rights: the matrix per workflow, recording and answering decisions on
work items, the decision audit list, and the notification list."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, reselect, reswap, retarget

from handoffs.decisions import links
from handoffs.decisions import rules as rights
from handoffs.decisions import services as decision_services
from handoffs.decisions.forms import (
    DecisionAnswerForm,
    DecisionForm,
    DecisionLogFilter,
    DecisionRightForm,
    DecisionTypeForm,
)
from handoffs.decisions.models import Decision, DecisionMatrixChange, DecisionRole, DecisionType
from handoffs.work import services
from handoffs.work.models import WorkItem
from handoffs.workflows.models import Team, Workflow
from opshub.accounts.models import User
from opshub.lib.forms import add_service_errors
from opshub.lib.ids import parse_id
from opshub.mail.models import Notification

# --- The matrix -------------------------------------------------------------------------------


def _scope_team(request, workflow):
    """The team a matrix view is scoped to (?team=), only among the workflow's teams."""
    raw = request.POST.get("team") or request.GET.get("team")
    if not raw:
        return None
    teams = Team.objects.filter(stages__workflow=workflow).distinct()
    return get_object_or_404(teams, pk=parse_id(raw))


def _matrix_context(request, workflow, team):
    return {
        "workflow": workflow,
        "team": team,
        "teams": Team.objects.filter(stages__workflow=workflow).distinct(),
        "rows": rights.matrix_rows(workflow, team),
        "roles": DecisionRole.choices,
        "can_edit": workflow.can_edit(request.user),
        "version": rights.matrix_version(workflow),
        "changes": _changes(workflow),
        "nav_active": "workflows",
    }


def _changes(workflow):
    return DecisionMatrixChange.objects.filter(workflow=workflow).select_related("changed_by")[:10]


@login_required
@require_safe
def matrix(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    context = _matrix_context(request, workflow, _scope_team(request, workflow))
    return render(request, "handoffs/decision_matrix.html", context)


@login_required
@require_safe
def matrix_print(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    context = _matrix_context(request, workflow, _scope_team(request, workflow))
    return render(request, "handoffs/decision_print.html", {**context, "now": timezone.now()})


@login_required
@require_POST
def matrix_cell(request, pk):
    """The G/Y/R toggle of one cell: green → yellow → red → green."""
    workflow = get_object_or_404(Workflow, pk=pk)
    decision_type = get_object_or_404(
        DecisionType.objects.for_workflow(workflow), pk=parse_id(request.POST.get("decision_type"))
    )
    role, team = request.POST.get("role"), _scope_team(request, workflow)
    if role not in DecisionRole.values:
        return HttpResponseBadRequest("Unknown role.")
    rights.matrix_cycle_level(decision_type=decision_type, role=role, team=team, by=request.user)
    if not request.htmx:
        return redirect(_matrix_url(workflow, team))
    context = {
        "workflow": workflow,
        "team": team,
        "cell": rights.cell_for(decision_type, role, team),
        "can_edit": True,
        "version": rights.matrix_version(workflow),
        "changes": _changes(workflow),
        "oob": True,
    }
    return render(request, "handoffs/decision_matrix.html#cell", context)


def _matrix_url(workflow, team=None):
    url = reverse("handoffs:decision-matrix", args=[workflow.pk])
    return f"{url}?team={team.pk}" if team else url


@login_required
def type_create(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    return _type_form(request, DecisionType(workflow=workflow), workflow)


@login_required
def type_edit(request, pk, type_pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    decision_type = get_object_or_404(DecisionType.objects.for_workflow(workflow), pk=type_pk)
    return _type_form(request, decision_type, workflow)


def _type_form(request, decision_type, workflow):
    if not decision_type.can_edit(request.user):
        raise PermissionDenied("Only leads of this workflow's teams and admins edit its types.")
    form = DecisionTypeForm(request.POST or None, instance=decision_type)
    if request.method == "POST" and form.is_valid():
        rights.decision_type_save(decision_type=form.instance, by=request.user)
        messages.success(request, f"Saved “{form.instance.name}”.")
        return redirect(_matrix_url(workflow))
    context = {"form": form, "workflow": workflow, "decision_type": decision_type}
    return render(
        request, "handoffs/decision_type_form.html", {**context, "nav_active": "workflows"}
    )


@login_required
def right_edit(request, pk, type_pk, role):
    """Level and routing (who is informed, who approves) of one cell."""
    workflow = get_object_or_404(Workflow, pk=pk)
    decision_type = get_object_or_404(DecisionType.objects.for_workflow(workflow), pk=type_pk)
    team = _scope_team(request, workflow)
    if role not in DecisionRole.values or not decision_type.can_edit(request.user):
        raise PermissionDenied("Only leads of this workflow's teams and admins edit its rights.")
    cell = rights.cell_for(decision_type, role, team)
    instance = cell.right if cell.right and not cell.inherited else None
    form = DecisionRightForm(request.POST or None, instance=instance, initial={"level": cell.level})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        rights.matrix_set_right(
            decision_type=decision_type, role=role, team=team, by=request.user, **data
        )
        messages.success(request, f"Saved: {decision_type.name}, {role}s.")
        return redirect(_matrix_url(workflow, team))
    context = {"form": form, "workflow": workflow, "cell": cell, "team": team}
    return render(
        request, "handoffs/decision_right_form.html", {**context, "nav_active": "workflows"}
    )


@login_required
@require_safe
def decision_log(request, pk):
    """Every decision in the workflow with its level at the time and its outcome."""
    workflow = get_object_or_404(Workflow, pk=pk)
    filters = DecisionLogFilter(request.GET or None, workflow=workflow)
    decisions = filters.apply(Decision.objects.filter(item__workflow=workflow).for_list())
    context = {
        "workflow": workflow,
        "filters": filters,
        "decisions": decisions[:200],
        "nav_active": "workflows",
    }
    if request.htmx:
        return render(request, "handoffs/decision_log.html#results", context)
    return render(request, "handoffs/decision_log.html", context)


# --- Recording and answering decisions on a work item ----------------------------------------


@login_required
def decision_record(request, pk):
    item = get_object_or_404(WorkItem.objects.for_list(), pk=pk)
    if not services.can_work_on(request.user, item):
        raise PermissionDenied("Only the team working on this item records decisions on it.")
    if request.method != "POST":
        form = DecisionForm(initial=request.GET.dict(), item=item, user=request.user)
        return _panel(request, item, form)
    form = DecisionForm(request.POST, item=item, user=request.user)
    if form.is_valid():
        try:
            decision = decision_services.decision_record(
                item=item,
                by=request.user,
                decision_type=form.decision_type_obj(),
                summary=form.cleaned_data["summary"],
                why=form.cleaned_data["why"],
                payload=form.payload(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except services.StateConflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _recorded_message(decision))
            return redirect(item)
    response = _panel(request, item, form, status=400)
    if request.htmx:
        response = reselect(
            retarget(reswap(response, "outerHTML"), "#decision-panel"), "#decision-panel"
        )
    return response


def _panel(request, item, form, status=200, answer=None):
    context = {
        "item": item,
        "decision_form": form,
        "decision_form_open": True,  # asked for: opened on the item page, or its own page
        "answer": answer,
        "nav_active": "work",
    }
    template = "handoffs/decision_form.html" if request.htmx else "handoffs/decision_create.html"
    return render(request, template, context, status=status)


def _recorded_message(decision):
    if decision.status == Decision.Status.PENDING:
        return (
            f"Asked {decision.approver or 'an admin'} to approve. The item is paused until "
            "they answer; you will be told."
        )
    informed = ", ".join(str(p) for p in decision.informed.all())
    return "Decision recorded." + (f" Informed: {informed}." if informed else "")


@login_required
@require_POST
def decision_answer(request, pk):
    decision = get_object_or_404(Decision.objects.for_list(), pk=pk)
    form = DecisionAnswerForm(request.POST)
    error, comment_error = "", ""
    if not form.is_valid():
        error = "Choose approve or deny."
    else:
        answer = (
            decision_services.decision_approve
            if form.cleaned_data["answer"] == "approve"
            else (decision_services.decision_deny)
        )
        try:
            decision = answer(
                decision=decision, by=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            comment_error = " ".join(exc.message_dict.get("comment", []))
            error = " ".join(m for m in exc.messages if m != comment_error)
        except services.StateConflict as exc:
            error = str(exc)
    if request.htmx and request.POST.get("from") == "inbox":
        decision.refresh_from_db()
        context = {
            "decision": decision,
            "error": " ".join(filter(None, [error, comment_error])),
            "user": request.user,
        }
        return render(request, "handoffs/inbox_decisions.html#row", context)
    if error or comment_error:
        return _answer_refused(request, decision, error, comment_error, form)
    messages.success(request, f"{decision.get_status_display()}: the item has resumed.")
    return redirect(decision.item)


def _answer_refused(request, decision, error, comment_error, form):
    """The decision panel again, with the refusal at the Comment field (or above the buttons);
    a request no longer pending (answered, or its item cancelled) has no panel to show it:
    the item page says it instead."""
    item = get_object_or_404(WorkItem.objects.for_list(), pk=decision.item_id)
    if not Decision.objects.filter(pk=decision.pk, status=Decision.Status.PENDING).exists():
        messages.error(request, " ".join(filter(None, [error, comment_error])))
        if request.htmx:
            return HttpResponseClientRedirect(item.get_absolute_url())
        return redirect(item)
    answer = {
        "error": error,
        "comment_error": comment_error,
        "comment": form.data.get("comment", ""),
    }
    response = _panel(request, item, None, status=400, answer=answer)
    if request.htmx:
        response = reselect(
            retarget(reswap(response, "outerHTML"), "#decision-panel"), "#decision-panel"
        )
    return response


# --- Answering from the email (handoffs/decisions/links.py) ---------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def decision_email_answer(request, pk):
    """The page an approval email's Approve or Deny link opens: no sign-in, the signed link
    says who answers. GET shows the request; only the POST answers it."""
    decision = get_object_or_404(Decision.objects.for_list(), pk=pk)
    token = request.POST.get("t") or request.GET.get("t") or ""
    if not token:  # not from an email: the item page answers (after signing in)
        if request.user.is_authenticated:
            return redirect(decision.get_absolute_url())
        return redirect_to_login(decision.get_absolute_url())
    context = {"decision": decision, "token": token, "nav_active": "work"}
    try:
        approver = links.approver_from_link(token, decision)
    except links.LinkRefused as exc:
        return _link_page(request, {**context, "refused": str(exc)}, status=410)
    context["approver"] = approver
    if why := links.why_not_answerable(decision, approver):
        return _link_page(request, {**context, "refused": why}, status=409)
    form = DecisionAnswerForm(request.POST or None, initial={"answer": request.GET.get("answer")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        answer = (
            decision_services.decision_approve
            if data["answer"] == "approve"
            else decision_services.decision_deny
        )
        try:
            decision = answer(decision=decision, by=approver, comment=data["comment"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (services.StateConflict, PermissionDenied) as exc:
            decision.refresh_from_db()
            return _link_page(request, {**context, "refused": str(exc)}, status=409)
        else:
            return _link_page(request, {**context, "decision": decision, "answered": True})
    status = 400 if form.errors else 200
    return _link_page(request, {**context, "form": form}, status=status)


def _link_page(request, context, status=200):
    return render(request, "handoffs/decision_email_answer.html", context, status=status)


# --- Notifications -----------------------------------------------------------------------------


@login_required
@require_safe
def notification_list(request):
    notifications = Notification.objects.filter(user=request.user).select_related("item")[:100]
    context = {
        "notifications": notifications,
        "unread": Notification.objects.unread_count_for(request.user),
        "deliveries": User.Delivery.choices,
        "nav_active": "notifications",
    }
    return render(request, "handoffs/notification_list.html", context)


@login_required
@require_POST
def notification_read(request, pk):
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at=None).update(read_at=timezone.now())
        note.refresh_from_db()
    if request.htmx:
        return render(request, "handoffs/notification_list.html#note", {"note": note})
    return redirect("handoffs:notification-list")


@login_required
@require_POST
def notification_read_all(request):
    Notification.objects.filter(user=request.user, read_at=None).update(read_at=timezone.now())
    messages.success(request, "All notifications marked as read.")
    return redirect("handoffs:notification-list")


@login_required
@require_POST
def notification_preference(request):
    delivery = request.POST.get("email_delivery")
    if delivery not in User.Delivery.values:
        return HttpResponseBadRequest("Unknown email delivery.")
    User.objects.filter(pk=request.user.pk).update(email_delivery=delivery)
    messages.success(request, f"Emails now arrive: {User.Delivery(delivery).label.lower()}.")
    return redirect("handoffs:notification-list")
