"""Faults on real servers: Redis going away, a worker killed mid-task, a dropped database
connection. Each test starts (and stops) its own Redis on a free loopback port, so the
shared Redis that everyone else's tests use is never touched.

SMTP refusing then accepting is tested through the one email outbox in
tests/handoffs/test_stalls.py (test_smtp_refusing_then_accepting_delivers_the_alert_once) and
tests/reviews/test_close_review.py (test_an_smtp_outage_is_retried_until_the_summary_goes).
"""

import asyncio
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
import time_machine
from django.db import connection
from django.utils import timezone

from handoffs.models import EmailDelivery, WorkItem
from handoffs.work import services, transitions
from opshub.celery import app
from opshub.mail.notifications import notify
from opshub.tasks import catch_up_task
from scoreboard.models import DeliveredItemFact
from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer:
    """A throwaway redis-server subprocess: start, kill (SIGKILL, like a crash), start again."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        assert _wait_for(lambda: _pings(client), timeout=10), "redis-server did not start"

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def _pings(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


def _wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _point_celery_at(url):
    app.conf.broker_url = url
    # The producer pool holds connections to the old broker; drop it so the next send
    # connects to `url`.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def own_redis(settings):
    """Django's cache and Celery's broker on a Redis this test owns (and may kill)."""
    if not os.path.exists(REDIS_SERVER):
        pytest.skip(f"{REDIS_SERVER} is not installed")
    server = RedisServer()
    server.start()
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    old_broker = app.conf.broker_url
    _point_celery_at(server.url)
    yield server
    _point_celery_at(old_broker)
    server.kill()


def _test_database_url():
    db = connection.settings_dict
    if db["HOST"].startswith("/"):  # the embedded server listens on a unix socket
        return f"postgresql://{db['USER']}:@/{db['NAME']}?host={db['HOST']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker():
    """Starts real `celery worker` subprocesses on a given Redis and the test database."""
    procs = []

    def start(redis_url, *, pool="solo", email_url="console://"):
        queue = f"faults-{os.getpid()}-{free_port()}"
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": _test_database_url(),
            "CELERY_QUEUE": queue,
            "CONN_MAX_AGE": "0",
            "EMAIL_URL": email_url,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "opshub", "worker", f"--pool={pool}"]
            + ["--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle"]
            + ["--without-heartbeat", "-l", "warning"],
            cwd=ROOT,
            env=env,
        )
        procs.append(proc)
        app.conf.task_default_queue = queue
        return proc

    yield start
    app.conf.task_default_queue = "celery"
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # cold shutdown: the test is over, be quick
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _ready_to_deliver(workflow, seller, lead, title):
    """An item in its last stage, in progress: the lead can deliver it."""
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    item = transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    return transitions.handoff_accept(item=item, by=lead)


# --- Redis down ---------------------------------------------------------------------------


def test_with_redis_down_pages_and_api_work_and_the_sweep_catches_up(
    own_redis, client, workflow, seller, lead, start_worker, smtp_mailers
):
    delivered = _ready_to_deliver(workflow, seller, lead, "ACME order #1")
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=5), tick=False):
        # Handed off five hours ago and never accepted: a stall the scan will find.
        stalled = services.work_item_create(workflow=workflow, title="Globex renewal", by=seller)
        transitions.handoff_submit(
            item=stalled,
            by=seller,
            checklist=["signed"],
            fields={"po_number": "PO-2", "amount": "80"},
        )
    own_redis.kill()

    assert client.post(
        "/accounts/login/", {"username": lead.email, "password": "correct-horse-battery"}
    ).status_code in (200, 302)
    client.force_login(lead)
    pages = ["/", "/work/", f"/work/board/{workflow.pk}/", delivered.get_absolute_url()]
    for path in [*pages, "/workflows/", "/stalls/", "/reviews/"]:
        response = client.get(path)
        assert response.status_code == 200, path
    assert client.get("/api/v1/work-items/").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["checks"]["redis"]["status"] == "down"
    assert health.json()["checks"]["database"]["status"] == "ok"

    started = time.monotonic()
    response = client.post(f"/api/v1/work-items/{delivered.pk}/deliver/")
    assert response.status_code == 200, response.content
    assert time.monotonic() - started < 5, "a dead broker must fail fast"
    created = client.post(
        "/api/v1/work-items/", {"workflow": workflow.pk, "title": "Made while Redis was down"}
    )
    assert created.status_code == 201, created.content
    assert WorkItem.objects.get(pk=delivered.pk).state == WorkItem.State.DONE
    assert not DeliveredItemFact.objects.filter(item=delivered).exists()

    # Redis returns (empty: its queued tasks died with it). The periodic work, run by a
    # real worker, re-derives what was lost: the snapshot fact and the stall alert.
    own_redis.start()
    start_worker(own_redis.url, email_url=f"smtp://{smtp_mailers.host}:{smtp_mailers.port}")
    catch_up_task.delay()
    from handoffs.stalls.tasks import scan_stalls_task

    scan_stalls_task.delay()
    assert _wait_for(lambda: DeliveredItemFact.objects.filter(item=delivered).exists())
    assert _wait_for(lambda: len(smtp_mailers.messages) == 1)
    [alert] = smtp_mailers.parsed()
    assert alert["To"] == lead.email and "Globex renewal" in alert["Subject"]
    assert client.get("/healthz").json()["checks"]["redis"]["status"] == "ok"


def test_a_frozen_redis_costs_an_action_seconds_not_a_hung_request(
    own_redis, client, workflow, seller, lead
):
    """A Redis that accepts connections but never answers (stopped, swapping): the broker
    and cache timeouts bound the wait, and the delivery still succeeds."""
    item = _ready_to_deliver(workflow, seller, lead, "ACME order #1")
    client.force_login(lead)
    own_redis.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = client.post(f"/api/v1/work-items/{item.pk}/deliver/")
        elapsed = time.monotonic() - started
    finally:
        own_redis.proc.send_signal(signal.SIGCONT)
    assert response.status_code == 200, response.content
    assert elapsed < 15, f"delivering took {elapsed:.1f} s against a frozen Redis"
    assert WorkItem.objects.get(pk=item.pk).state == WorkItem.State.DONE


def test_a_notification_email_lost_with_redis_is_sent_by_the_catch_up_sweep(
    own_redis, lead, smtp_mailers, django_capture_on_commit_callbacks
):
    own_redis.kill()
    with django_capture_on_commit_callbacks(execute=True):
        [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    email = EmailDelivery.objects.get(pk=note.email_id)
    assert email.status == EmailDelivery.Status.PENDING

    from opshub.mail.tasks import send_due_emails_task

    assert send_due_emails_task() == {"sent": 1, "failed": 0}
    assert send_due_emails_task() == {"sent": 0, "failed": 0}
    assert [m["Subject"] for m in smtp_mailers.parsed()] == ["Decision needed"]


def test_with_redis_down_an_import_preview_says_to_retry_instead_of_failing(
    own_redis, client, lead
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    own_redis.kill()
    client.force_login(lead)
    csv = (
        b"case_id,activity,timestamp\nA1,Order,2026-01-05T09:00:00Z\nA1,Ship,2026-01-07T09:00:00Z\n"
    )
    response = client.post(
        "/scoreboard/import/",
        {"workflow": "Imported orders", "file": SimpleUploadedFile("log.csv", csv)},
    )
    assert response.status_code == 200
    assert "The preview cannot be kept right now" in response.content.decode()


# --- A worker killed mid-task -----------------------------------------------------------


class HangingInbox:
    """An SMTP server whose first DATA never gets an answer: the sender is stuck mid-send."""

    def __init__(self):
        self.messages = []
        self.hanging = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.hanging.is_set():
            self.hanging.set()
            await asyncio.sleep(60)
            return "451 Too late"
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def hanging_smtp():
    from aiosmtpd.controller import Controller

    inbox = HangingInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


def _pool_child(worker_pid):
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    return int(pids[0]) if pids else None


def test_a_worker_killed_mid_send_leaves_its_lease_and_the_sweep_sends_one_email(
    own_redis, lead, hanging_smtp, start_worker
):
    """acks_late + reject_on_worker_lost: the killed task's message goes back on the queue and
    the re-run finds the outbox row leased (no lock is held across the send), so it leaves it;
    once the lease runs out the outbox sweep sends it, once."""
    worker = start_worker(own_redis.url, pool="prefork", email_url=hanging_smtp.url)
    [note] = notify([lead], message="Red decision waiting", subject="Decision needed")
    email = EmailDelivery.objects.get(pk=note.email_id)
    from opshub.mail.tasks import send_due_emails_task, send_email_task

    send_email_task.delay(email.pk)
    assert hanging_smtp.hanging.wait(30), "the worker never reached the SMTP server"
    child = _pool_child(worker.pid)
    assert child is not None
    os.kill(child, signal.SIGKILL)

    time.sleep(2)  # the re-run task and a replacement child: the lease keeps them off the row
    assert hanging_smtp.messages == []
    assert EmailDelivery.objects.get(pk=email.pk).status == EmailDelivery.Status.SENDING

    EmailDelivery.objects.filter(pk=email.pk).update(  # the 5-minute lease ends
        next_attempt_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    send_due_emails_task.delay()
    assert _wait_for(lambda: len(hanging_smtp.messages) == 1, timeout=40)
    assert _wait_for(
        lambda: EmailDelivery.objects.get(pk=email.pk).status == EmailDelivery.Status.SENT
    )
    assert hanging_smtp.messages[0].original_content.count(email.message_id.encode()) == 1
    time.sleep(1)  # room for a wrongly duplicated delivery to show up
    assert len(hanging_smtp.messages) == 1
    assert worker.poll() is None, "the worker itself survives the loss of its child"


def test_a_stall_email_whose_sender_was_killed_goes_out_once_after_its_lease(
    own_redis, workflow, seller, lead, hanging_smtp, start_worker
):
    """The outbox's claim on a stall email: the re-run task finds the row leased and leaves it;
    once the lease runs out the outbox sweep sends it, once."""
    worker = start_worker(own_redis.url, pool="prefork", email_url=hanging_smtp.url)
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=5), tick=False):
        item = services.work_item_create(workflow=workflow, title="Globex renewal", by=seller)
        transitions.handoff_submit(
            item=item, by=seller, checklist=["signed"], fields={"po_number": "P", "amount": "1"}
        )
    from handoffs.stalls.tasks import scan_stalls_task

    scan_stalls_task.delay()
    assert hanging_smtp.hanging.wait(30), "the worker never reached the SMTP server"
    os.kill(_pool_child(worker.pid), signal.SIGKILL)
    assert _wait_for(
        lambda: EmailDelivery.objects.filter(status=EmailDelivery.Status.SENDING).exists()
    )
    time.sleep(2)  # the re-run task and a replacement child: the lease keeps them off the row
    assert hanging_smtp.messages == []

    EmailDelivery.objects.update(next_attempt_at=timezone.now())  # the 5-minute lease ends
    from opshub.mail.tasks import send_due_emails_task

    send_due_emails_task.delay()
    assert _wait_for(lambda: len(hanging_smtp.messages) == 1)
    time.sleep(1)
    assert len(hanging_smtp.messages) == 1
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT


# --- The database connection dropped --------------------------------------------------------


def _wsgi_get(path, cookies):
    """One request through Django's own WSGI handler, as gunicorn makes it: unlike the test
    client, it runs close_old_connections (and so the health check) around the request."""
    from wsgiref.util import setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler

    environ = {"PATH_INFO": path, "HTTP_HOST": "localhost", "HTTP_COOKIE": cookies}
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    response = WSGIHandler()(environ, start_response)
    b"".join(response)
    response.close()
    return answer["status"]


def test_a_terminated_database_connection_is_replaced_on_the_next_request(client, lead):
    """CONN_HEALTH_CHECKS: a persistent connection killed by the server (failover, restart,
    pg_terminate_backend) is noticed at the start of the next request and reopened."""
    import psycopg

    client.force_login(lead)
    cookies = "; ".join(f"{key}={morsel.value}" for key, morsel in client.cookies.items())
    assert _wsgi_get("/work/", cookies) == 200
    pid = connection.connection.info.backend_pid if connection.connection else None
    assert pid is not None, "the request left no persistent connection (CONN_MAX_AGE)"
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as admin:
        terminated = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    assert terminated

    assert _wsgi_get("/work/", cookies) == 200
    assert connection.connection.info.backend_pid != pid
