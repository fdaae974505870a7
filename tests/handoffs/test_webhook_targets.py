"""Webhook subscriptions cannot reach internal addresses: refused when saved (UI and API),
refused when sent (names resolved, redirects re-checked), unless the setting allows them."""

import http.server
import threading

import pytest
from rest_framework.test import APIClient

from handoffs.integrations import webhooks
from handoffs.models import WebhookDelivery, WebhookSubscription
from opshub.accounts.models import ApiToken
from opshub.lib import netguard
from tests.conftest import free_port
from tests.handoffs.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

API = "/api/v1/webhook-subscriptions/"
BODY = {"name": "ERP", "event_kinds": ["delivered"]}


@pytest.fixture
def api(admin_user):
    client = APIClient()
    _, raw = ApiToken.issue(user=admin_user, name="hooks")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


class Redirector:
    """Answers every POST with a 307 to `location`, listening on `host`."""

    def __init__(self, host, location):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(307)
                self.send_header("Location", location)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, free_port()), Handler)
        self.url = f"http://{host}:{self.server.server_port}/moved"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _subscribe(url, admin_user):
    return webhooks.subscription_create(
        name="ERP", url=url, event_kinds=["delivered"], by=admin_user
    )


def _send_test(subscription):
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, kind="test", payload=webhooks.test_payload(subscription)
    )
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://169.254.169.254/",
        "http://192.168.0.10/",
        "http://[::ffff:127.0.0.1]/",
        "ftp://files.example.com/",
    ],
)
def test_the_api_refuses_an_internal_or_non_http_url_naming_url(api, url):
    response = api.post(API, {**BODY, "url": url}, format="json")
    assert response.status_code == 400
    assert "url" in response.json() and set(response.json()["errors"]) == {"url"}
    assert not WebhookSubscription.objects.exists()


def test_the_api_refuses_changing_a_url_to_an_internal_address(api, admin_user):
    subscription = _subscribe("https://erp.example.com/in", admin_user)
    response = api.patch(f"{API}{subscription.pk}/", {"url": "http://10.0.0.1/"}, format="json")
    assert response.status_code == 400 and "url" in response.json()
    subscription.refresh_from_db()
    assert subscription.url == "https://erp.example.com/in"


def test_the_form_refuses_an_internal_url_on_its_field(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/integrations/webhooks/", {**BODY, "url": "http://127.0.0.1:6379/"})
    assert response.status_code == 200
    assert response.context["form"].errors["url"][0].startswith("This address is internal")
    assert not WebhookSubscription.objects.exists()


def test_the_setting_allows_internal_receivers(api, settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    response = api.post(API, {**BODY, "url": "http://127.0.0.1:8080/in"}, format="json")
    assert response.status_code == 201
    response = api.post(API, {**BODY, "url": "ftp://127.0.0.1/"}, format="json")
    assert response.status_code == 400 and "url" in response.json()


def test_a_host_name_resolving_to_loopback_is_refused_when_sending(receiver, admin_user):
    subscription = _subscribe(receiver.url.replace("127.0.0.1", "localhost"), admin_user)
    delivery = _send_test(subscription)
    assert receiver.requests == []
    assert (delivery.status, delivery.last_error) == ("pending", "target address not allowed")
    assert delivery.response_code is None


def test_a_closed_internal_port_and_an_open_one_log_the_same_refusal(receiver, admin_user):
    """What a scan wants to learn (open, closed, filtered) is not in the log."""
    open_port = _send_test(_subscribe(receiver.url, admin_user))
    closed_port = _send_test(_subscribe(f"http://127.0.0.1:{free_port()}/", admin_user))
    assert open_port.last_error == closed_port.last_error == "target address not allowed"
    assert receiver.requests == []


def test_a_redirect_to_loopback_is_not_followed(receiver, admin_user, monkeypatch):
    # The first hop stands for a public server: 127.0.0.2 is treated as public here, since
    # this machine has no public address to listen on.
    allowed = netguard.is_public
    monkeypatch.setattr(
        netguard, "is_public", lambda address: str(address) == "127.0.0.2" or allowed(address)
    )
    redirector = Redirector("127.0.0.2", receiver.url)
    try:
        delivery = _send_test(_subscribe(redirector.url, admin_user))
    finally:
        redirector.close()
    assert receiver.requests == []
    assert delivery.last_error == "target address not allowed"


def test_with_the_setting_a_redirect_is_followed_and_delivered(receiver, admin_user, settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    redirector = Redirector("127.0.0.1", receiver.url)
    try:
        delivery = _send_test(_subscribe(redirector.url, admin_user))
    finally:
        redirector.close()
    assert (delivery.status, delivery.response_code) == ("delivered", 200)
    assert len(receiver.requests) == 1


def test_a_redirect_loop_gives_up(admin_user, settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    loop = Redirector("127.0.0.1", "/again")  # to itself, forever
    try:
        delivery = _send_test(_subscribe(loop.url, admin_user))
    finally:
        loop.close()
    assert delivery.status == "pending"
    assert delivery.last_error == f"More than {netguard.MAX_REDIRECTS} redirects."
