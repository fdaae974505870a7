"""Load: team leads and members on the pages, integrations creating and handing off work.

Run by scripts/load.sh (headless, against gunicorn, then counted in the database). The
plan (who hands off what to whom, with which API tokens) is made once from the database
the server uses, so the locust process needs DATABASE_URL too.

Pages go through the production settings behind a TLS-terminating proxy: requests carry
X-Forwarded-Proto: https and an Origin, and each simulated person keeps its own cookies
(the session cookie is Secure, so a plain-HTTP cookie jar would drop it).
"""

import datetime
import itertools
import json
import os
import random
import threading
import uuid

import django
from locust import HttpUser, between, events, task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opshub.settings")
django.setup()

from handoffs.models import Workflow, WorkItem  # noqa: E402
from opshub.accounts.models import ApiToken, User  # noqa: E402

PASSWORD = os.environ.get("OPSHUB_DEMO_PASSWORD", "opshub-demo")
TITLE_PREFIX = "Load "
# Ids of the items whose create, handoff and accept the load saw succeed (200/201).
SEEN = {"created": [], "handed_off": [], "accepted": [], "accept_conflicts": []}
_lock = threading.Lock()


def _seen(name, pk):
    with _lock:
        SEEN[name].append(pk)


def _value(defn):
    kind = defn["type"]
    if kind in ("number", "money"):
        low = defn.get("min")
        return str(max(float(low), 1.0) if low not in (None, "") else 100)
    return {
        "date": datetime.date.today().isoformat(),
        "url": "https://example.com/order",
        "email": "buyer@example.com",
        "choice": (defn.get("choices") or [""])[0],
        "yes_no": True,
    }.get(kind, "LOAD-1")


def _plan():
    """Per workflow: who creates and hands off (first stage's lead), who accepts (the next
    stage's lead), and a payload the published protocol accepts."""
    lanes = []
    for workflow in Workflow.objects.filter(is_sandbox=False).order_by("pk"):
        stages = list(workflow.stages.select_related("team__lead").order_by("position"))
        if len(stages) < 2:
            continue
        handoff = getattr(stages[0], "handoff_out", None)
        protocol = handoff.published() if handoff else None
        if protocol is None or any(f.get("pattern") for f in protocol.fields):
            continue
        sender, receiver = stages[0].team.lead, stages[1].team.lead
        lanes.append(
            {
                "workflow": workflow.pk,
                "sender": ApiToken.issue(user=sender, name="load")[1],
                "receiver": ApiToken.issue(user=receiver, name="load")[1],
                "handoff": {
                    "checklist": [c["id"] for c in protocol.checklist],
                    "fields": {f["key"]: _value(f) for f in protocol.fields},
                },
            }
        )
    return lanes


LANES = []
PEOPLE = []
OPEN_ITEMS = []


@events.init.add_listener
def _on_init(environment, **kwargs):
    LANES.extend(_plan())
    assert LANES, "no workflow whose first handoff the load can fill in"
    PEOPLE.extend(
        User.objects.filter(role__in=[User.Role.LEAD, User.Role.MEMBER], is_active=True)
        .order_by("pk")
        .values_list("email", flat=True)
    )
    OPEN_ITEMS.extend(
        WorkItem.objects.exclude(state__in=["done", "cancelled"])
        .order_by("-pk")
        .values_list("pk", flat=True)[:200]
    )


@events.test_stop.add_listener
def _on_stop(environment, **kwargs):
    path = os.environ.get("LOAD_COUNTS")
    if path:
        with open(path, "w") as out:
            json.dump(SEEN, out)


_people = itertools.count()


class Person(HttpUser):
    """A lead or member clicking through the app, and the CRM/script integration beside
    them creating work, handing it off and having it accepted through the API."""

    wait_time = between(0.5, 2)

    def on_start(self):
        self.email = PEOPLE[next(_people) % len(PEOPLE)]
        self.cookies = {}
        self.lane = random.choice(LANES)
        self.workflow = self.lane["workflow"]
        self.mine = []  # items this person created and handed off, waiting to be accepted
        page = self._page("get", "/accounts/login/", name="/accounts/login/")
        self._page(
            "post",
            "/accounts/login/",
            data={
                "username": self.email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
            },
            name="/accounts/login/ (POST)",
        )
        assert page.status_code == 200 and "sessionid" in self.cookies, "login failed"

    # --- Pages ------------------------------------------------------------------------------

    def _page(self, method, path, name=None, **kwargs):
        headers = {
            "X-Forwarded-Proto": "https",
            "Origin": self.host.replace("http://", "https://"),
            "Referer": self.host.replace("http://", "https://") + path,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            **kwargs.pop("headers", {}),
        }
        if method == "post":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        response = self.client.request(
            method, path, name=name or path, headers=headers, allow_redirects=False, **kwargs
        )
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
        return response

    @task(4)
    def dashboard(self):
        self._page("get", "/", name="dashboard")

    @task(3)
    def board(self):
        self._page("get", f"/work/board/{self.workflow}/", name="board")

    @task(2)
    def work_list(self):
        self._page("get", "/work/", name="work list")

    @task(2)
    def inbox(self):
        self._page("get", "/work/inbox/", name="inbox")

    @task(2)
    def item_page(self):
        if OPEN_ITEMS:
            self._page("get", f"/work/{random.choice(OPEN_ITEMS)}/", name="item")

    # --- The API: create, hand off, accept --------------------------------------------------

    def _api(self, token, path, body, name):
        return self.client.post(
            path,
            json=body,
            name=name,
            headers={"Authorization": f"Token {token}", "X-Forwarded-Proto": "https"},
            catch_response=True,
        )

    @task(3)
    def create_and_hand_off(self):
        lane = self.lane
        title = f"{TITLE_PREFIX}{uuid.uuid4().hex[:10]}"
        body = {"workflow": lane["workflow"], "title": title}
        with self._api(lane["sender"], "/api/v1/work-items/", body, "api create") as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            pk = response.json()["id"]
            _seen("created", pk)
        path = f"/api/v1/work-items/{pk}/handoff/"
        with self._api(lane["sender"], path, lane["handoff"], "api handoff") as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            _seen("handed_off", pk)
        self.mine.append(pk)

    @task(3)
    def accept(self):
        if not self.mine:
            return
        pk = self.mine.pop(0)
        # Two people accepting at once is part of the contract: one wins, one gets 409.
        for attempt in range(2 if random.random() < 0.1 else 1):
            path = f"/api/v1/work-items/{pk}/accept/"
            with self._api(self.lane["receiver"], path, {}, "api accept") as response:
                if response.status_code == 200:
                    _seen("accepted", pk)
                elif response.status_code == 409 and attempt == 1:
                    _seen("accept_conflicts", pk)
                    response.success()
                else:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
