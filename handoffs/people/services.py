"""Teams and people, written through one function per use case (docs/teams.md).

Every function checks who may act (handoffs/people/permissions.py) before it writes, and a
refused call changes nothing: PermissionDenied for "not you", ValidationError (with a field
name where one applies) for "not this"."""

import datetime
import hashlib
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from handoffs.people import permissions as rules
from handoffs.signals import person_deactivated
from handoffs.work.models import Event, Recovery, WorkItem
from handoffs.workflows.models import Team, TeamCalendar
from opshub.accounts.models import AuditEntry, User
from opshub.lib.guards import require as _require
from opshub.mail import outbox
from opshub.mail.models import EmailDelivery

INVITE_SALT = "opshub.people.invitation"
# A week: long enough for a new hire who starts on Monday, short enough that a forwarded
# link does not open an account months later.
INVITE_MAX_AGE = 7 * 24 * 3600


# --- Teams -----------------------------------------------------------------------------------


@transaction.atomic
def team_create(*, by: User, name: str, description: str = "", lead: User | None = None) -> Team:
    _require(rules.can_manage_teams(by), rules.ADMINS_ONLY)
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A team with this name already exists."})
    team = Team.objects.create(name=name, description=description, lead=lead)
    # The default working calendar (docs/calendars.md); its lead adjusts it on the team page.
    TeamCalendar.objects.create(team=team)
    if lead is not None:
        team.members.add(lead)
    AuditEntry.objects.record(
        actor=by, action=AuditEntry.Action.CREATE, obj=team, summary=f"Created team {name}"
    )
    return team


@transaction.atomic
def team_update(*, team: Team, by: User, name: str, description: str, lead: User | None) -> Team:
    _require(rules.can_manage_teams(by), rules.ADMINS_ONLY)
    if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": "A team with this name already exists."})
    if lead is not None and not lead.is_active:
        raise ValidationError({"lead": "A deactivated or invited account cannot lead a team."})
    before = {"name": team.name, "lead": team.lead_id}
    team.name, team.description, team.lead = name, description, lead
    team.save()
    if lead is not None:
        team.members.add(lead)
    AuditEntry.objects.record(
        actor=by,
        action=AuditEntry.Action.UPDATE,
        obj=team,
        summary=f"Changed team {name}",
        before=before,
        after={"name": name, "lead": team.lead_id},
    )
    return team


def team_removal_problem(team: Team) -> str:
    """Why a team cannot be deleted, or "" (stages keep their history)."""
    stages = team.stages.count()
    if stages:
        return (
            f"{team.name} owns {stages} stage{'s' if stages != 1 else ''}; "
            "give them to another team first."
        )
    return ""


@transaction.atomic
def team_delete(*, team: Team, by: User) -> None:
    _require(rules.can_manage_teams(by), rules.ADMINS_ONLY)
    problem = team_removal_problem(team)
    if problem:
        raise ValidationError(problem)
    AuditEntry.objects.record(
        actor=by, action=AuditEntry.Action.DELETE, obj=team, summary=f"Deleted team {team.name}"
    )
    team.delete()


@transaction.atomic
def team_member_add(*, team: Team, by: User, person: User) -> Team:
    _require(rules.can_manage_members(by, team), rules.LEADS_ONLY)
    if person.deactivated_at is not None:
        raise ValidationError({"person": f"{person} is deactivated."})
    team.members.add(person)
    return team


@transaction.atomic
def team_member_remove(*, team: Team, by: User, person: User) -> Team:
    _require(rules.can_manage_members(by, team), rules.LEADS_ONLY)
    if team.lead_id == person.pk:
        raise ValidationError(
            {"person": f"{person} leads {team.name}; an admin chooses a new lead first."}
        )
    team.members.remove(person)
    return team


# --- People ----------------------------------------------------------------------------------


@transaction.atomic
def person_set_role(*, person: User, by: User, role: str) -> User:
    _require(rules.can_manage_person(by, person), "You cannot change this person's role.")
    if role not in dict(rules.roles_for(by)):
        raise ValidationError({"role": "You cannot give this role."})
    before = person.role
    person.role = role
    # Admins manage everything, the Django admin included (UserManager.create_user).
    person.is_staff = person.is_superuser = role == User.Role.ADMIN
    person.save(update_fields=["role", "is_staff", "is_superuser"])
    AuditEntry.objects.record(
        actor=by,
        action=AuditEntry.Action.UPDATE,
        obj=person,
        summary=f"Role of {person.email}: {before} → {role}",
        before={"role": before},
        after={"role": role},
    )
    return person


def invitation_token(person: User) -> str:
    """The signed link's token. It carries a digest of the password field, so setting the
    password (accepting) or sending a new invitation makes every older link a used one."""
    return signing.dumps({"u": person.pk, "s": _state(person)}, salt=INVITE_SALT)


def _state(person: User) -> str:
    return hashlib.sha256(person.password.encode()).hexdigest()[:16]


class InvitationInvalid(Exception):
    """Why an invitation link does not open the account, in words the person can act on."""


def person_from_invitation(token: str, *, now: datetime.datetime | None = None) -> User:
    try:
        data = signing.loads(token, salt=INVITE_SALT, max_age=INVITE_MAX_AGE)
    except signing.SignatureExpired:
        raise InvitationInvalid(
            "This invitation has expired (links last 7 days). Ask whoever invited you to "
            "send a new one."
        ) from None
    except signing.BadSignature:
        raise InvitationInvalid(
            "This invitation link is not valid: copy the whole link from the email."
        ) from None
    person = User.objects.filter(pk=data.get("u")).first()
    if person is None or person.deactivated_at is not None:
        raise InvitationInvalid("This account has been deactivated; ask an admin.")
    if person.is_active:
        raise InvitationInvalid(
            "This invitation has already been accepted. Log in with your email and password."
        )
    if data.get("s") != _state(person):
        raise InvitationInvalid(
            "A newer invitation was sent to you: use the link in the latest email."
        )
    return person


def _send_invitation(person: User, by: User) -> None:
    link = outbox.absolute_url(
        reverse("handoffs:invitation-accept", args=[invitation_token(person)])
    )
    # person.teams is Team.members' reverse accessor, which the type stubs do not see.
    teams = ", ".join(t.name for t in person.teams.order_by("name"))  # type: ignore[attr-defined]
    outbox.enqueue(
        to=person,
        kind=EmailDelivery.Kind.INVITATION,
        subject=f"{by.get_full_name()} invited you to opshub",
        template="handoffs/email/invitation",
        context={"link": link, "inviter": by, "teams": teams, "days": INVITE_MAX_AGE // 86400},
    )


@transaction.atomic
def person_invite(
    *,
    by: User,
    email: str,
    full_name: str = "",
    role: str = User.Role.MEMBER,
    team: Team | None = None,
) -> User:
    """An inactive account with no password, in `team`, and an email with the link that sets
    the password and activates it."""
    _require(rules.can_invite(by), "Only admins and team leads invite people.")
    if team is not None:
        _require(rules.can_manage_members(by, team), rules.LEADS_ONLY)
    elif not by.is_admin:
        raise ValidationError({"team": "Choose one of your teams."})
    if role not in dict(rules.roles_for(by)):
        raise ValidationError({"role": "You cannot give this role."})
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "Someone with this email already has an account."})
    person = User.objects.create_user(
        email,
        password=None,
        full_name=full_name,
        role=role,
        is_active=False,
        invited_by=by,
        invited_at=timezone.now(),
    )
    if team is not None:
        team.members.add(person)
    AuditEntry.objects.record(
        actor=by, action=AuditEntry.Action.CREATE, obj=person, summary=f"Invited {email}"
    )
    _send_invitation(person, by)
    return person


@transaction.atomic
def invitation_resend(*, person: User, by: User) -> User:
    _require(rules.can_manage_person(by, person), "You cannot invite this person again.")
    if not person.is_invited:
        raise ValidationError("Only a pending invitation can be sent again.")
    person.set_unusable_password()  # a new state: the older links are now "replaced"
    person.invited_at = timezone.now()
    person.save(update_fields=["password", "invited_at"])
    _send_invitation(person, by)
    return person


@transaction.atomic
def invitation_accept(*, person: User, password: str) -> User:
    """Sets the password (already validated by SetPasswordForm) and activates the account."""
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.is_active or not person.is_invited:
        raise InvitationInvalid("This invitation has already been accepted.")
    person.set_password(password)
    person.is_active = True
    person.save(update_fields=["password", "is_active"])
    AuditEntry.objects.record(
        actor=person,
        action=AuditEntry.Action.PASSWORD,
        obj=person,
        summary=f"{person.email} accepted the invitation",
    )
    return person


OPEN_STATES = [
    s for s in WorkItem.State.values if s not in (WorkItem.State.DONE, WorkItem.State.CANCELLED)
]


def open_work_of(person: User) -> dict[str, QuerySet[Any]]:
    """What deactivating `person` hands on: their open items and the recoveries they own."""
    return {
        "items": WorkItem.objects.filter(assignee=person, state__in=OPEN_STATES),
        "recoveries": Recovery.objects.open().filter(owner=person),
    }


def reassign_candidates(person: User) -> QuerySet[User]:
    return User.objects.filter(is_active=True).exclude(pk=person.pk).exclude(role=User.Role.VIEWER)


@transaction.atomic
def person_deactivate(*, person: User, by: User, reassign_to: User | None = None) -> dict[str, Any]:
    """Deactivates `person`: they can no longer log in or use a token, their open items and
    recoveries go to `reassign_to` (or nobody), and they leave their teams. Their events,
    comments and decisions stay as they are: the log is append-only."""
    _require(rules.can_manage_person(by, person), "You cannot deactivate this person.")
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.deactivated_at is not None:
        raise ValidationError("This account is already deactivated.")
    if reassign_to is not None and not reassign_candidates(person).filter(pk=reassign_to.pk):
        raise ValidationError({"reassign_to": "Choose an active person who can work on items."})
    now = timezone.now()
    work = open_work_of(person)
    items = list(work["items"].select_for_update().order_by("pk"))
    new_id = reassign_to.pk if reassign_to is not None else None
    Event.objects.bulk_create(
        Event(
            item=item,
            kind=Event.Kind.ASSIGNED,
            at=now,
            actor=by,
            payload={"assignee_id": new_id, "reason": "deactivated", "from_id": person.pk},
        )
        for item in items
    )
    WorkItem.objects.filter(pk__in=[i.pk for i in items]).update(assignee_id=new_id, updated_at=now)
    recoveries = work["recoveries"].update(owner_id=new_id)
    led = list(Team.objects.led_by(person).values_list("name", flat=True))
    Team.objects.led_by(person).update(lead=None)
    # Kept in the audit entry: whom a lead of these teams may reactivate, and where to.
    left = sorted(person.teams.values_list("pk", flat=True))  # type: ignore[attr-defined]
    person.teams.clear()  # type: ignore[attr-defined]  # Team.members' reverse accessor
    # What other apps keep for the person (review action items) goes the same way.
    handed_on: dict[str, Any] = {}
    for _, answer in person_deactivated.send(
        sender=User, person=person, reassign_to=reassign_to, by=by, at=now
    ):
        handed_on.update(answer if isinstance(answer, dict) else {})
    person.is_active = False
    person.deactivated_at = now
    person.set_unusable_password()  # an unaccepted invitation link stops working too
    person.save(update_fields=["is_active", "deactivated_at", "password"])
    AuditEntry.objects.record(
        actor=by,
        action=AuditEntry.Action.UPDATE,
        obj=person,
        summary=(
            f"Deactivated {person.email}: {len(items)} item(s) and {recoveries} recover"
            f"{'y' if recoveries == 1 else 'ies'} to {reassign_to or 'nobody'}"
        ),
        after={"reassign_to": new_id, "items": len(items), "teams_led": led, "teams_left": left},
    )
    return {"items": len(items), "recoveries": recoveries, "teams_led": led, **handed_on}


def teams_left(person: User) -> QuerySet[Team]:
    """The teams `person` left when deactivated that still exist, by name."""
    return Team.objects.filter(pk__in=rules.teams_left_ids(person)).order_by("name")


@transaction.atomic
def person_reactivate(*, person: User, by: User) -> list[str]:
    """Brings a deactivated person back: they rejoin the teams they left and get a new
    invitation, whose link sets a new password and activates the account (their old password
    and tokens stay dead). The work reassigned when they left stays where it went; their
    history never left. Returns the names of the teams rejoined."""
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.deactivated_at is None:
        _require(rules.can_manage_person(by, person), rules.REACTIVATE_ONLY)
        raise ValidationError("This account is not deactivated.")
    left = set(rules.teams_left_ids(person))
    _require(rules.can_reactivate(by, person, left), rules.REACTIVATE_ONLY)
    teams = list(Team.objects.filter(pk__in=left).order_by("name"))
    person.teams.add(*teams)  # type: ignore[attr-defined]  # Team.members' reverse accessor
    person.deactivated_at = None
    person.is_active = False  # until the invitation is accepted
    person.invited_at = timezone.now()
    person.invited_by = by
    person.set_unusable_password()  # a new state: any older invitation link is replaced
    person.save(
        update_fields=["deactivated_at", "is_active", "invited_at", "invited_by", "password"]
    )
    names = [team.name for team in teams]
    back = ", ".join(names) or "no team"
    AuditEntry.objects.record(
        actor=by,
        action=AuditEntry.Action.UPDATE,
        obj=person,
        summary=f"Reactivated {person.email}: invited again, back in {back}",
        after={"reactivated": True, "teams": [team.pk for team in teams]},
    )
    _send_invitation(person, by)
    return names
