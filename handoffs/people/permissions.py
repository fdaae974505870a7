"""Who may manage teams and people: the one home of these rules (docs/teams.md).

Admins manage everything. A lead manages the members of the teams they lead: adds and removes
them, sets their role (never to admin), invites new people into those teams, and deactivates
a member who is not an admin. Everyone signed in may read the teams."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handoffs.workflows.models import led_team_ids_of, team_ids_of
from opshub.accounts.models import AuditEntry, User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from handoffs.workflows.models import Team

ADMINS_ONLY = "Only admins create, rename and remove teams or choose their lead."
LEADS_ONLY = "Only admins and the team's lead manage its members."
REACTIVATE_ONLY = "Only admins and the lead of a team this person left reactivate them."


def can_manage_teams(user: User | AnonymousUser) -> bool:
    """Create, rename, delete teams and choose their lead."""
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin


def can_manage_members(user: User | AnonymousUser, team: Team) -> bool:
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin or team.pk in led_team_ids_of(user)


def can_see_people(user: User | AnonymousUser) -> bool:
    """The people list: admins, and leads (who pick new members from it)."""
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin or bool(led_team_ids_of(user))


def can_invite(user: User | AnonymousUser) -> bool:
    return can_see_people(user)


def can_manage_person(user: User | AnonymousUser, person: User) -> bool:
    """Set the role of, resend an invitation to, or deactivate `person`."""
    if not user.is_authenticated or not user.can_write or person.pk == user.pk:
        return False
    if user.is_admin:
        return True
    if person.is_admin:
        return False
    led = led_team_ids_of(user)
    return bool(led) and bool(led & team_ids_of(person))


def can_reactivate(user: User | AnonymousUser, person: User, left: set[int] | None = None) -> bool:
    """Reactivate a deactivated `person`: the deactivation rule, with the teams they left when
    deactivated (`left`, ids; read from the deactivation's audit entry when not given) in
    place of the teams they are in, which they left."""
    if person.deactivated_at is None:
        return False
    if not user.is_authenticated or not user.can_write or person.pk == user.pk:
        return False
    if user.is_admin:
        return True
    if person.is_admin:
        return False
    led = led_team_ids_of(user)
    if not led:
        return False
    if left is None:
        left = set(teams_left_ids(person))
    return bool(led & left)


def teams_left_ids(person: User) -> list[int]:
    """The teams `person` was in when last deactivated (the deactivation's audit entry)."""
    entry = (
        AuditEntry.objects.for_object(person)
        .filter(after__has_key="teams_left")
        .order_by("-at", "-pk")
        .first()
    )
    return list(entry.after["teams_left"]) if entry else []


def roles_for(user: User | AnonymousUser) -> list[tuple[str, str]]:
    """The roles `user` may give: a lead never makes an admin."""
    choices = list(User.Role.choices)
    if user.is_authenticated and user.is_admin:
        return choices
    return [c for c in choices if c[0] != User.Role.ADMIN]
