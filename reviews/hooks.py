"""What reviews hears from the handoffs app (handoffs/signals.py), connected in
ReviewsConfig.ready()."""

from opshub.accounts.models import AuditEntry
from reviews.models import ActionItem


def person_deactivated(sender, *, person, reassign_to, by, at, **kwargs):
    """A leaver's open action items go to whoever takes their work. An action item always has
    an owner, so when nobody takes the work, the person deactivating takes them."""
    new_owner = reassign_to or by
    actions = list(ActionItem.objects.open().filter(owner=person).order_by("pk"))
    ActionItem.objects.filter(pk__in=[a.pk for a in actions]).update(owner=new_owner, updated_at=at)
    for action in actions:
        AuditEntry.objects.record(
            actor=by,
            action=AuditEntry.Action.UPDATE,
            obj=action,
            summary=f"Owner {person.email} deactivated: action item now {new_owner.email}'s",
            before={"owner": person.pk},
            after={"owner": new_owner.pk},
        )
    return {"action items": len(actions), "action items to": str(new_owner)}
