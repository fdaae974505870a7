import time

import pytest

from handoffs.models import Heartbeat
from opshub.scheduler.tasks import ping_task

pytestmark = pytest.mark.worker


def test_a_real_worker_runs_a_task_through_redis(celery_worker_process):
    """The broker is the configured Redis; the worker is a separate process on the test DB."""
    ping_task.delay()
    for _ in range(150):
        if Heartbeat.objects.filter(name="worker_ping").exists():
            break
        time.sleep(0.1)
    assert Heartbeat.objects.filter(name="worker_ping").exists(), "the worker never ran the task"
