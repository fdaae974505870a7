"""How decision rights reach into the handoff gate (the decision-rights issue fills these in)."""


def approved_checklist_overrides(*, item, version):
    """Checklist item ids that an approved, unused red override decision lets through."""
    return set()


def consume_checklist_overrides(*, item, version):
    """Marks the approved overrides as used by this handoff, so they let only one through."""
