"""Shared fixtures: personas, a small workflow, a real SMTP server, Chromium, a Celery worker.

Everything runs against real services: PostgreSQL (DATABASE_URL), Redis (REDIS_URL),
an aiosmtpd server in this process, Debian's Chromium, and a Celery worker subprocess.
"""

import datetime
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("OPSHUB_TESTING", "1")
# pytest-django's live_server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Personas and a workflow -------------------------------------------------------------


@pytest.fixture
def make_user(db):
    from opshub.accounts.models import User

    def make(email, role=User.Role.MEMBER, **extra):
        return User.objects.create_user(
            email,
            password="correct-horse-battery",
            role=role,
            full_name=extra.pop("full_name", email.split("@")[0].title()),
            **extra,
        )

    return make


@pytest.fixture
def teams(db, make_user):
    """Sales hands off to Fulfilment. Each team has a lead and a member."""
    from handoffs.models import Team
    from opshub.accounts.models import User

    sales_lead = make_user("sales.lead@example.com", User.Role.LEAD)
    seller = make_user("seller@example.com")
    ful_lead = make_user("lead@example.com", User.Role.LEAD)
    member = make_user("member@example.com")
    sales = Team.objects.create(name="Sales", lead=sales_lead)
    sales.members.add(sales_lead, seller)
    fulfilment = Team.objects.create(name="Fulfilment", lead=ful_lead)
    fulfilment.members.add(ful_lead, member)
    return {"sales": sales, "fulfilment": fulfilment}


@pytest.fixture
def lead(teams):
    """Lead of Fulfilment, the team that receives handoffs."""
    return teams["fulfilment"].lead


@pytest.fixture
def member(teams):
    return teams["fulfilment"].members.get(email="member@example.com")


@pytest.fixture
def seller(teams):
    return teams["sales"].members.get(email="seller@example.com")


@pytest.fixture
def outsider(make_user, db):
    """A lead of a team that has nothing to do with this workflow."""
    from handoffs.models import Team
    from opshub.accounts.models import User

    user = make_user("outsider@example.com", User.Role.LEAD)
    team = Team.objects.create(name="Marketing", lead=user)
    team.members.add(user)
    return user


@pytest.fixture
def viewer(make_user):
    from opshub.accounts.models import User

    return make_user("viewer@example.com", User.Role.VIEWER)


@pytest.fixture
def admin_user(make_user):
    from opshub.accounts.models import User

    return make_user("admin@example.com", User.Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def workflow(teams):
    """Order to delivery: Sales (Qualify) → Fulfilment (Ship), with a published protocol."""
    from django.utils import timezone

    from handoffs.models import Handoff, ProtocolVersion, Stage, Workflow

    wf = Workflow.objects.create(name="Order to delivery")
    qualify = Stage.objects.create(
        workflow=wf,
        name="Qualify",
        position=1,
        team=teams["sales"],
        target=datetime.timedelta(days=2),
    )
    Stage.objects.create(workflow=wf, name="Ship", position=2, team=teams["fulfilment"])
    handoff = Handoff.objects.create(workflow=wf, from_stage=qualify)
    ProtocolVersion.objects.create(
        handoff=handoff,
        number=1,
        status=ProtocolVersion.Status.PUBLISHED,
        published_at=timezone.now(),
        checklist=[
            {"id": "signed", "text": "Contract signed", "help": "", "required": True},
            {"id": "intro", "text": "Intro call booked", "help": "", "required": False},
        ],
        fields=[
            {"key": "po_number", "label": "PO number", "type": "text", "required": True},
            {"key": "amount", "label": "Amount", "type": "money", "required": True, "min": 0},
            {"key": "notes", "label": "Notes", "type": "long_text", "required": False},
        ],
        ready_answer="The PO number and amount are filled and the contract is signed.",
        missing_answer="Bounce it back to Sales naming the missing input.",
    )
    return wf


@pytest.fixture
def item(workflow, seller):
    from handoffs.work.services import work_item_create

    return work_item_create(workflow=workflow, title="ACME order #1", by=seller)


# --- Real SMTP ---------------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.messages = []
        self.refuse = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "451 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def parsed(self):
        from email import message_from_bytes
        from email.policy import default

        return [message_from_bytes(m.original_content, policy=default) for m in self.messages]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.host, inbox.port = "127.0.0.1", port
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_mailers(settings, smtp_server):
    """Django 6.1's MAILERS pointed at the in-process SMTP server."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": smtp_server.host,
                "port": smtp_server.port,
                "use_tls": False,
                "use_ssl": False,
                "timeout": 5,
            },
        }
    }
    return smtp_server


# --- A real Celery worker ----------------------------------------------------------------


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A real `celery worker` subprocess on the configured Redis, using the test database."""
    from django.db import connection

    queue = f"test-{os.getpid()}-{free_port()}"
    env = dict(os.environ)
    db = connection.settings_dict
    host = db["HOST"]
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
        if not host.startswith("/")
        else f"postgresql://{db['USER']}:@/{db['NAME']}?host={host}"
    )
    env["CELERY_QUEUE"] = queue
    env["CONN_MAX_AGE"] = "0"
    # The worker delivers webhooks to receivers on loopback; its settings come from here,
    # where pytest's `settings` fixture cannot reach.
    env["OPSHUB_WEBHOOK_ALLOW_PRIVATE"] = "true"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "opshub",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    from opshub.celery import app

    app.conf.task_default_queue = queue
    time.sleep(0.5)
    yield proc
    app.conf.task_default_queue = "celery"
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline when their on-commit callback fires.

    Every task module is imported first: a task sent by name (the outbox's
    `signature(SEND_TASK)`) runs eagerly only once its module has registered it; otherwise
    Celery sends it to the broker, and whether a test passed hung on which tests had
    imported the module before it."""
    from opshub.celery import app

    app.loader.import_default_modules()
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# --- Chromium through pytest-playwright -------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name, **kwargs):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return take


DOCS_IMG = ROOT / "docs" / "img"
DOCS_VIEWPORT = {"width": 1366, "height": 768}


def pytest_addoption(parser):
    parser.addoption(
        "--update-docs-screenshots",
        action="store_true",
        help="Also write the screenshots that README.md and docs/ show into docs/img/.",
    )


@pytest.fixture
def docs_screenshot(page, request):
    """A screenshot that the docs show: always in tests/screenshots/, and written over
    docs/img/NAME.png with --update-docs-screenshots (so the docs show today's pages)."""
    update = request.config.getoption("--update-docs-screenshots")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name, **kwargs):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), animations="disabled", caret="hide", **kwargs)
        if update:
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            (DOCS_IMG / path.name).write_bytes(path.read_bytes())
        return path

    return take


@pytest.fixture
def login(page, live_server):
    def as_user(user, password="correct-horse-battery"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/**")
        return page

    return as_user


def pytest_collection_modifyitems(config, items):
    browser_missing = not os.path.exists(CHROMIUM)
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            if browser_missing:
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


@pytest.fixture(autouse=True)
def fresh_dashboard_cache():
    """Redis outlives each test's rolled-back rows: every test starts under a new snapshot
    version, so no dashboard board stored by an earlier test is served (scoreboard.board_cache)."""
    from scoreboard import board_cache

    board_cache.invalidate()
