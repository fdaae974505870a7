"""Team, membership and people pages, and the invitation link (docs/teams.md)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from handoffs.people import permissions as rules
from handoffs.people import services
from handoffs.people.forms import DeactivateForm, InviteForm, MemberAddForm, RoleForm, TeamForm
from handoffs.workflows.models import Team
from opshub.accounts.models import User
from opshub.lib.guards import require as _require


def _context(**extra):
    return {"nav_active": "teams", **extra}


def _refused(form, error):
    """A service's ValidationError shown on the form: per field where it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _submitted(form, service, **arguments):
    """Runs `service` with a valid form's data: its result, or None when the form or the
    service refused (the refusal is then on the form, per field)."""
    if not form.is_valid():
        return None
    try:
        return service(**arguments, **form.cleaned_data)
    except ValidationError as error:
        _refused(form, error)
        return None


# --- Teams -----------------------------------------------------------------------------------


@login_required
@require_safe
def team_list(request):
    teams = Team.objects.select_related("lead").annotate(member_count=Count("members"))
    context = _context(
        teams=teams,
        can_create=rules.can_manage_teams(request.user),
        can_see_people=rules.can_see_people(request.user),
    )
    return render(request, "handoffs/team_list.html", context)


@login_required
def team_create(request):
    _require(rules.can_manage_teams(request.user), rules.ADMINS_ONLY)
    form = TeamForm(request.POST or None)
    team = request.method == "POST" and _submitted(form, services.team_create, by=request.user)
    if team:
        messages.success(request, f"Created the team “{team.name}”.")
        return redirect("handoffs:team-detail", team.pk)
    return render(request, "handoffs/team_form.html", _context(form=form))


def _team_context(request, team, **forms):
    members = team.members.order_by("full_name", "email")
    can_manage = rules.can_manage_members(request.user, team)
    return _context(
        team=team,
        members=members,
        can_manage=can_manage,
        can_edit=rules.can_manage_teams(request.user),
        add_form=forms.get("add_form") or MemberAddForm(),
        invite_form=forms.get("invite_form")
        or (InviteForm(by=request.user, initial={"team": team.pk}) if can_manage else None),
    )


@login_required
@require_safe
def team_detail(request, pk):
    team = get_object_or_404(Team.objects.select_related("lead"), pk=pk)
    return render(request, "handoffs/team_detail.html", _team_context(request, team))


@login_required
def team_update(request, pk):
    _require(rules.can_manage_teams(request.user), rules.ADMINS_ONLY)
    team = get_object_or_404(Team, pk=pk)
    initial = {"name": team.name, "description": team.description, "lead": team.lead_id}
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and _submitted(
        form, services.team_update, team=team, by=request.user
    ):
        messages.success(request, f"Saved “{team.name}”.")
        return redirect("handoffs:team-detail", team.pk)
    context = _context(form=form, team=team, problem=services.team_removal_problem(team))
    return render(request, "handoffs/team_form.html", context)


@login_required
@require_POST
def team_delete(request, pk):
    _require(rules.can_manage_teams(request.user), rules.ADMINS_ONLY)
    team = get_object_or_404(Team, pk=pk)
    try:
        services.team_delete(team=team, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("handoffs:team-edit", team.pk)
    messages.success(request, f"Deleted the team “{team.name}”.")
    return redirect("handoffs:team-list")


@login_required
@require_POST
def team_member_add(request, pk):
    team = get_object_or_404(Team.objects.select_related("lead"), pk=pk)
    _require(rules.can_manage_members(request.user, team), rules.LEADS_ONLY)
    form = MemberAddForm(request.POST)
    if not _submitted(form, services.team_member_add, team=team, by=request.user):
        context = _team_context(request, team, add_form=form)
        return render(request, "handoffs/team_detail.html", context, status=400)
    messages.success(request, f"Added {form.cleaned_data['person']} to {team.name}.")
    return redirect("handoffs:team-detail", team.pk)


@login_required
@require_POST
def team_member_remove(request, pk, user_pk):
    team = get_object_or_404(Team.objects.select_related("lead"), pk=pk)
    _require(rules.can_manage_members(request.user, team), rules.LEADS_ONLY)
    person = get_object_or_404(team.members, pk=user_pk)
    try:
        services.team_member_remove(team=team, by=request.user, person=person)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{person} is no longer in {team.name}.")
    return redirect("handoffs:team-detail", team.pk)


# --- People ----------------------------------------------------------------------------------


@login_required
@require_safe
def person_list(request):
    _require(rules.can_see_people(request.user), "Only admins and team leads see everyone.")
    status = request.GET.get("status", "")
    people = User.objects.prefetch_related(
        Prefetch("teams", queryset=Team.objects.order_by("name"))
    ).order_by("full_name", "email")
    if status == "active":
        people = people.filter(is_active=True)
    elif status == "invited":
        people = people.filter(is_active=False, deactivated_at=None)
    elif status == "deactivated":
        people = people.exclude(deactivated_at=None)
    context = _context(people=people, status=status, can_invite=rules.can_invite(request.user))
    return render(request, "handoffs/person_list.html", context)


@login_required
def person_invite(request):
    _require(rules.can_invite(request.user), "Only admins and team leads invite people.")
    form = InviteForm(request.POST or None, by=request.user, initial=request.GET.dict())
    person = request.method == "POST" and _submitted(form, services.person_invite, by=request.user)
    if person:
        messages.success(request, f"Invited {person.email}: the link in the email lasts 7 days.")
        team = form.cleaned_data["team"]
        return redirect("handoffs:team-detail", team.pk) if team else redirect(person_page(person))
    return render(request, "handoffs/person_invite.html", _context(form=form))


def person_page(person):
    return reverse("handoffs:person-detail", args=[person.pk])


def _person_for(request, pk):
    _require(rules.can_see_people(request.user), "Only admins and team leads see people.")
    return get_object_or_404(User, pk=pk)


@login_required
@require_safe
def person_detail(request, pk):
    person = _person_for(request, pk)
    return render(request, "handoffs/person_detail.html", _person_context(request, person))


def _person_context(request, person, **forms):
    can_manage = rules.can_manage_person(request.user, person)
    work = services.open_work_of(person)
    return _context(
        person=person,
        person_teams=person.teams.order_by("name"),
        can_manage=can_manage,
        open_items=work["items"].select_related("workflow", "stage").order_by("pk")[:20],
        open_item_count=work["items"].count(),
        open_recovery_count=work["recoveries"].count(),
        role_form=forms.get("role_form")
        or RoleForm(by=request.user, initial={"role": person.role}),
        deactivate_form=forms.get("deactivate_form") or DeactivateForm(person=person),
        can_reactivate=rules.can_reactivate(request.user, person),
        teams_to_rejoin=[t.name for t in services.teams_left(person)]
        if person.deactivated_at
        else [],
    )


@login_required
@require_POST
def person_set_role(request, pk):
    person = _person_for(request, pk)
    _require(rules.can_manage_person(request.user, person), "You cannot change this role.")
    form = RoleForm(request.POST, by=request.user)
    if not _submitted(form, services.person_set_role, person=person, by=request.user):
        context = _person_context(request, person, role_form=form)
        return render(request, "handoffs/person_detail.html", context, status=400)
    messages.success(request, f"{person} is now {person.get_role_display().lower()}.")
    return redirect(person_page(person))


@login_required
@require_POST
def invitation_resend(request, pk):
    person = _person_for(request, pk)
    _require(rules.can_manage_person(request.user, person), "You cannot invite this person.")
    try:
        services.invitation_resend(person=person, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Sent a new invitation to {person.email}; older links no longer work."
        )
    return redirect(person_page(person))


@login_required
@require_POST
def person_deactivate(request, pk):
    person = _person_for(request, pk)
    _require(rules.can_manage_person(request.user, person), "You cannot deactivate this person.")
    form = DeactivateForm(request.POST, person=person)
    done = _submitted(form, services.person_deactivate, person=person, by=request.user)
    if not done:
        context = _person_context(request, person, deactivate_form=form)
        return render(request, "handoffs/person_detail.html", context, status=400)
    to = form.cleaned_data["reassign_to"] or "nobody"
    actions = (
        f" {done['action items']} open review action item(s) went to {done['action items to']}."
        if done.get("action items")
        else ""
    )
    messages.success(
        request,
        f"Deactivated {person}. {done['items']} open item(s) and {done['recoveries']} "
        f"recovery(ies) went to {to}; their history stays.{actions}",
    )
    return redirect(person_page(person))


@login_required
@require_POST
def person_reactivate(request, pk):
    person = _person_for(request, pk)
    _require(rules.can_reactivate(request.user, person), rules.REACTIVATE_ONLY)
    try:
        teams = services.person_reactivate(person=person, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        back = f" They rejoin {', '.join(teams)}." if teams else ""
        messages.success(
            request,
            f"Reactivated {person}: an invitation to set a new password is on its way to "
            f"{person.email}.{back} The work reassigned when they left stays where it is.",
        )
    return redirect(person_page(person))


# --- The invitation link ---------------------------------------------------------------------


def invitation_accept(request, token):
    """No login: the signed link is the credential. An expired, used or replaced link says so."""
    try:
        person = services.person_from_invitation(token)
    except services.InvitationInvalid as problem:
        return render(
            request, "handoffs/invitation_accept.html", {"problem": str(problem)}, status=410
        )
    form = SetPasswordForm(person, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(person=person, password=form.cleaned_data["new_password1"])
        except services.InvitationInvalid as problem:
            context = {"problem": str(problem)}
            return render(request, "handoffs/invitation_accept.html", context, status=410)
        messages.success(request, "Your password is set. Log in with your email and password.")
        return redirect("login")
    status = 400 if form.errors else 200
    context = {"form": form, "person": person}
    return render(request, "handoffs/invitation_accept.html", context, status=status)
