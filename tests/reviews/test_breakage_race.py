"""Logging one candidate twice at once: the loser gets a message, never a 500."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from reviews.models import Breakage
from reviews.services import breakage_log

pytestmark = pytest.mark.django_db


def _log(member, workflow):
    return breakage_log(
        by=member,
        title="PO missing",
        workflow=workflow,
        kind="tool",
        system_factor="CRM has no PO field",
        source=Breakage.Source.BOUNCE,
        source_key="bounce:1",
    )


def test_a_duplicate_that_wins_the_race_past_the_checks_is_a_validation_error(
    member, workflow, monkeypatch
):
    real_exists = QuerySet.exists

    def exists_then_the_other_log_commits(queryset):
        found = real_exists(queryset)
        if queryset.model is Breakage and not found:
            monkeypatch.undo()
            _log(member, workflow)
        return found

    monkeypatch.setattr(QuerySet, "exists", exists_then_the_other_log_commits)
    with pytest.raises(ValidationError) as caught:
        _log(member, workflow)
    assert caught.value.message_dict == {
        "__all__": ["This candidate has already been logged as a breakage."]
    }
    # The connection is still usable (no aborted transaction). The stand-in competitor ran
    # inside the refused call's transaction, so it was rolled back with it.
    assert not Breakage.objects.exists()
