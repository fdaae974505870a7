"""Two leads toggling the same decision-matrix cell at once, on two real connections."""

import contextlib
import threading

import pytest
from django.db import connection

from handoffs.decisions import rules as rights
from handoffs.models import DecisionMatrixChange, DecisionRight, DecisionType

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_first_clicks_on_an_empty_cell_advance_it_twice(workflow, teams, lead, monkeypatch):
    refund = DecisionType.objects.create(workflow=workflow, key="refund", name="Refund")
    both_read = threading.Barrier(2)
    read_cell = rights.cell_for

    def cell_for_then_wait(*args):
        cell = read_cell(*args)
        # Without a lock both clicks read the default level here, then both insert.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=1)
        return cell

    monkeypatch.setattr(rights, "cell_for", cell_for_then_wait)
    errors = []

    def click(by):
        try:
            rights.matrix_cycle_level(decision_type=refund, role="member", team=None, by=by)
        except Exception as exc:  # the assertion below names it
            errors.append(exc)
        finally:
            connection.close()

    clicks = [threading.Thread(target=click, args=(by,)) for by in (lead, teams["sales"].lead)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(20)
    assert errors == []
    assert DecisionRight.objects.get(decision_type=refund).level == "green"  # yellow→red→green
    changes = DecisionMatrixChange.objects.filter(workflow=workflow).order_by("number")
    assert [c.after["level"] for c in changes] == ["red", "green"]
