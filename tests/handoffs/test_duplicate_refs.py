"""Two creates with one external reference: the loser gets a field error, never a 500."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from handoffs.models import WorkItem
from handoffs.work import services

pytestmark = pytest.mark.django_db


def _create(workflow, seller):
    return services.work_item_create(
        workflow=workflow, title="ACME order", by=seller, source="crm", external_ref="D-1"
    )


def test_a_duplicate_is_refused_on_the_external_ref_field(workflow, seller):
    _create(workflow, seller)
    with pytest.raises(ValidationError) as caught:
        _create(workflow, seller)
    assert "external_ref" in caught.value.message_dict


def test_a_duplicate_that_wins_the_race_past_the_check_is_a_field_error(
    workflow, seller, monkeypatch
):
    _create(workflow, seller)
    # The other create commits between this one's exists() check and its insert.
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    with pytest.raises(ValidationError) as caught:
        _create(workflow, seller)
    monkeypatch.undo()
    assert caught.value.message_dict == {
        "external_ref": ["A work item with this external reference already exists."]
    }
    # The savepoint rolled back only the failed insert: the transaction is still usable.
    assert WorkItem.objects.filter(external_ref="D-1").count() == 1
