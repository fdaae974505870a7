"""Just-in-time accounts from an identity provider's claims (docs/operations.md, "Single sign-on").

Roles and teams come from the claim named by OIDC_GROUPS_CLAIM (a list, or one string),
mapped by OIDC_ROLE_MAP / OIDC_TEAM_MAP; a team map key `@domain` matches the email's
domain instead. A new account gets OIDC_DEFAULT_ROLE when no group maps to a role.
"""

from django.conf import settings
from django.db import transaction

from opshub.accounts.models import AuditEntry, User

# When several groups map to roles, the one that can do most wins.
_ROLE_RANK = [User.Role.VIEWER, User.Role.MEMBER, User.Role.LEAD, User.Role.ADMIN]


def claim_groups(claims):
    value = claims.get(settings.OPSHUB_OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = value.split()
    return {str(group) for group in value}


def email_domain(claims):
    return claims.get("email", "").rpartition("@")[2].lower()


def role_from_claims(claims):
    """The mapped role, or None when no group maps to one."""
    role_map = settings.OPSHUB_OIDC_ROLE_MAP
    roles = [role_map[group] for group in claim_groups(claims) if group in role_map]
    return max(roles, key=_ROLE_RANK.index) if roles else None


def team_names_from_claims(claims):
    keys = claim_groups(claims) | {f"@{email_domain(claims)}"}
    return sorted({team for key, team in settings.OPSHUB_OIDC_TEAM_MAP.items() if key in keys})


def full_name_from_claims(claims):
    name = claims.get("name") or " ".join(
        part for part in (claims.get("given_name"), claims.get("family_name")) if part
    )
    return str(name)[:150]


@transaction.atomic
def user_provision(*, claims):
    """A new account for someone the provider vouched for; no usable password."""
    role = role_from_claims(claims) or settings.OPSHUB_OIDC_DEFAULT_ROLE
    user = User.objects.create_user(
        claims["email"], password=None, full_name=full_name_from_claims(claims), role=role
    )
    teams = _join_teams(user, claims)
    AuditEntry.objects.record(
        actor=None,
        action=AuditEntry.Action.CREATE,
        obj=user,
        summary=f"Account created at single sign-on as {role}"
        + (f", member of {', '.join(teams)}" if teams else ""),
        after={"role": role, "teams": teams},
    )
    return user


@transaction.atomic
def user_sync_from_claims(*, user, claims):
    """At each sign-in the provider stays the source of roles and team memberships it maps:
    a mapped role replaces the account's, mapped teams are joined (never left)."""
    role = role_from_claims(claims)
    if role and role != user.role:
        before = user.role
        user.role = role
        # Admins manage everything, the Django admin included (as UserManager.create_user).
        user.is_staff = user.is_superuser = role == User.Role.ADMIN
        user.save(update_fields=["role", "is_staff", "is_superuser"])
        AuditEntry.objects.record(
            actor=None,
            action=AuditEntry.Action.UPDATE,
            obj=user,
            summary=f"Role {before} → {role} from the identity provider's groups",
            before={"role": before},
            after={"role": role},
        )
    _join_teams(user, claims)
    return user


def _join_teams(user, claims):
    names = team_names_from_claims(claims)
    if not names:
        return []
    # Teams belong to handoffs, which builds on accounts: reach them through the relation
    # handoffs defines on User rather than importing upwards.
    teams = list(user.teams.model.objects.filter(name__in=names))
    user.teams.add(*teams)
    return [team.name for team in teams]
