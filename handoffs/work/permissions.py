"""Who may do what with a work item: the one home of these rules (docs/work-items.md).

The `can_*` rules say who may act; the services check them under the item's row lock and
the API's permission checks them before it reads a body. `available_actions` adds the
item's state and says, for each action on the item page, whether it is offered and, when
it is not, why, in words a person can act on ("Support owns this stage; ask Sam (lead).").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handoffs.work.models import WorkItem
from handoffs.workflows.models import team_ids_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from handoffs.work.models import Recovery
    from handoffs.workflows.models import Handoff, Team
    from opshub.accounts.models import User

READ_ONLY = "Your account can only read."


@dataclass(frozen=True)
class Action:
    allowed: bool
    # Why it is not offered; `refused_by_rights` tells "not you" from "not now".
    why_not: str = ""
    refused_by_rights: bool = False


def can_work_on(user: User | AnonymousUser, item: WorkItem) -> bool:
    """Members of the team owning the current stage, the assignee, and admins."""
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin or item.assignee_id == user.pk or item.stage.team_id in team_ids_of(user)


def can_receive(user: User | AnonymousUser, item: WorkItem) -> bool:
    """Only the receiving team of the pending handoff (or an admin) accepts or bounces it."""
    if not user.is_authenticated or not user.can_write or item.pending_version_id is None:
        return False
    if user.is_admin:
        return True
    team = _receiving_team(item)
    return team is not None and team.pk in team_ids_of(user)


def can_unblock(user: User | AnonymousUser, item: WorkItem, recovery: Recovery | None) -> bool:
    if not user.is_authenticated:
        return False
    if recovery is not None and recovery.owner_id == user.pk and user.can_write:
        return True
    return can_work_on(user, item)


def can_cancel(user: User | AnonymousUser, item: WorkItem) -> bool:
    """The team working on it, and the lead of the team owning its stage."""
    if not user.is_authenticated or not user.can_write:
        return False
    return item.stage.team.lead_id == user.pk or can_work_on(user, item)


def can_claim(user: User | AnonymousUser, item: WorkItem) -> bool:
    """A member of the team owning the stage takes an item nobody owns (admins too)."""
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin or item.stage.team_id in team_ids_of(user)


def can_undo_delivery(user: User | AnonymousUser, item: WorkItem) -> bool:
    """Whoever could deliver it: the team owning its last stage, its assignee, admins."""
    return can_work_on(user, item)


def can_edit(user: User | AnonymousUser, item: WorkItem) -> bool:
    """Editing an item's details is working on it: its team, its assignee, admins."""
    return can_work_on(user, item)


def _receiving_team(item: WorkItem) -> Team | None:
    version = item.pending_version
    return version.effective_receiving_team if version is not None else None


def _ask(team: Team | None, what: str, claimable: bool = False) -> str:
    if team is None:
        return f"Nobody {what}."
    ask = f"; ask {team.lead.get_full_name()} (lead)" if team.lead is not None else ""
    if claimable:
        ask += (
            f", or claim it if you are in {team.name}"
            if ask
            else f"; a member of {team.name} can claim it"
        )
    return f"{team.name} {what}{ask}."


def _refusal(user: User, team: Team | None, what: str, claimable: bool = False) -> Action:
    why = READ_ONLY if not user.can_write else _ask(team, what, claimable)
    return Action(False, why, refused_by_rights=True)


def _state_rules(item: WorkItem, handoff: Handoff | None) -> dict[str, tuple[bool, str]]:
    """Each action's state condition, and what to say when the item is not in it."""
    state = WorkItem.State
    moving = item.state == state.IN_PROGRESS
    waiting = item.state == state.WAITING_ACCEPTANCE
    now = f"It is {item.get_state_display().lower()}."
    return {
        "handoff": (
            moving and handoff is not None,
            now if not moving else "This is its last stage.",
        ),
        "deliver": (moving and handoff is None, now if not moving else "It has a next stage."),
        "accept": (waiting, "Nothing is waiting for acceptance."),
        "bounce": (waiting, "Nothing is waiting for acceptance."),
        "block": (moving or waiting, now),
        "unblock": (item.state == state.BLOCKED, "It is not blocked."),
        "claim": (
            item.is_open and item.assignee_id is None,
            "It is closed." if not item.is_open else f"{item.assignee} owns it already.",
        ),
        "undo_delivery": (
            item.can_undo_delivery_now(),
            "The undo window of its delivery has closed."
            if item.state == state.DONE
            else "It is not delivered.",
        ),
        "cancel": (item.is_open, "It is closed."),
        "edit": (item.is_open, "It is closed."),
    }


def available_actions(
    user: User | AnonymousUser,
    item: WorkItem,
    *,
    handoff: Handoff | None,
    recovery: Recovery | None,
) -> dict[str, Action]:
    """{action: Action} for the item page: `handoff` is the stage's outgoing handoff (None at
    the last stage), `recovery` the open recovery (None when there is none)."""
    if not user.is_authenticated:
        return {name: Action(False, READ_ONLY, True) for name in _state_rules(item, handoff)}
    stage_team = item.stage.team
    # The receiving team matters only while the item waits for it: reading it loads the
    # pending version, which an accepted item keeps.
    waiting = item.state == WorkItem.State.WAITING_ACCEPTANCE
    receiving = _receiving_team(item) if waiting else None
    who = {
        "handoff": (can_work_on(user, item), stage_team, "owns this stage"),
        "deliver": (can_work_on(user, item), stage_team, "owns this stage"),
        "block": (can_work_on(user, item), stage_team, "owns this stage"),
        "edit": (can_edit(user, item), stage_team, "owns this stage"),
        "accept": (waiting and can_receive(user, item), receiving, "receives this handoff"),
        "bounce": (waiting and can_receive(user, item), receiving, "receives this handoff"),
        "unblock": (can_unblock(user, item, recovery), stage_team, "owns this stage"),
        "cancel": (can_cancel(user, item), stage_team, "owns this stage"),
        "claim": (can_claim(user, item), stage_team, "owns this stage"),
        "undo_delivery": (can_undo_delivery(user, item), stage_team, "owns this stage"),
    }
    # Nobody owns it yet: its stage's team may take it, so a refusal says so.
    claimable = item.is_open and item.assignee_id is None
    actions: dict[str, Action] = {}
    for name, (state_allows, state_why) in _state_rules(item, handoff).items():
        allowed, team, what = who[name]
        if not state_allows:
            actions[name] = Action(False, state_why)
        elif not allowed:
            actions[name] = _refusal(user, team, what, claimable and what == "owns this stage")
        else:
            actions[name] = Action(True)
    return actions
