"""POST /api/v1/intake/<source>/ is rate-limited per source, counted in the real Redis: over
OPSHUB_INTAKE_RATE_LIMIT the sender gets 429 with Retry-After, and nothing is created."""

import datetime as dt
import json
import threading
import time
import uuid

import pytest
import time_machine
from django.test import Client

from handoffs.models import IntakeDelivery, IntakeSource, WorkItem
from opshub.lib.cache import count_in_window
from opshub.lib.signing import sign

SECRET = "whsec_throttle-secret"


@pytest.fixture
def make_source(workflow, admin_user):
    def make():
        # A fresh slug per source: the counters live in Redis, which outlives the test.
        slug = f"crm-{uuid.uuid4().hex[:10]}"
        return IntakeSource.objects.create(
            name=slug,
            slug=slug,
            secret=SECRET,
            workflow=workflow,
            stage=workflow.stages.get(name="Ship"),
            mapping={"title": "deal.name", "external_ref": "deal.id"},
            event_id_path="event.id",
            created_by=admin_user,
        )

    return make


def _post(source, n):
    body = json.dumps({"event": {"id": f"evt_{n}"}, "deal": {"id": f"D-{n}", "name": f"Deal {n}"}})
    timestamp = str(int(time.time()))
    return Client().post(
        f"/api/v1/intake/{source.slug}/",
        body.encode(),
        content_type="application/json",
        HTTP_X_OPSHUB_TIMESTAMP=timestamp,
        HTTP_X_OPSHUB_SIGNATURE=sign(SECRET, timestamp, body.encode()),
    )


def test_over_the_limit_a_source_gets_429_with_retry_after_and_nothing_is_created(
    settings, make_source
):
    settings.OPSHUB_INTAKE_RATE_LIMIT = (3, 60)
    crm, other = make_source(), make_source()

    assert [_post(crm, n).status_code for n in range(3)] == [201, 201, 201]
    items, deliveries = WorkItem.objects.count(), IntakeDelivery.objects.count()
    refused = _post(crm, 3)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Too many deliveries for this source")
    assert "Expected available in" in refused.json()["detail"]
    assert (WorkItem.objects.count(), IntakeDelivery.objects.count()) == (items, deliveries)
    # The limit is per source: another one still delivers.
    assert _post(other, 0).status_code == 201


def test_the_next_window_accepts_again(settings, make_source):
    settings.OPSHUB_INTAKE_RATE_LIMIT = (1, 60)
    crm = make_source()
    with time_machine.travel(dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC), tick=False) as clock:
        assert _post(crm, 0).status_code == 201
        assert _post(crm, 1)["Retry-After"] == "60"
        clock.shift(45)
        refused = _post(crm, 1)
        assert refused.status_code == 429 and refused["Retry-After"] == "15"
        clock.shift(15)
        assert _post(crm, 1).status_code == 201


def test_a_refused_signature_counts_too(settings, make_source):
    """The limit is checked before the signature: a flood of forgeries cannot cost a query
    each, and shows up as 429 like any other flood."""
    settings.OPSHUB_INTAKE_RATE_LIMIT = (2, 60)
    crm = make_source()
    forged = Client().post(f"/api/v1/intake/{crm.slug}/", b"{}", content_type="application/json")
    assert forged.status_code == 401
    assert _post(crm, 0).status_code == 201
    assert _post(crm, 1).status_code == 429


def test_concurrent_hits_are_each_counted_once():
    """INCR in Redis: twenty threads at once get twenty different counts."""
    name = f"test-rate:{uuid.uuid4().hex}"
    counts, start = [], threading.Barrier(20)

    def hit():
        start.wait()
        counts.append(count_in_window(name, 60)[0])

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 21))


def test_with_redis_down_deliveries_still_get_in(settings, make_source):
    """Losing a CRM's orders is worse than an unmetered minute; /healthz reports Redis down."""
    settings.OPSHUB_INTAKE_RATE_LIMIT = (1, 60)
    crm = make_source()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    assert [_post(crm, n).status_code for n in range(2)] == [201, 201]
