"""Password reset is throttled per address and per client IP, counted in the real Redis:
over either limit no email goes out, and the answer is the same neutral page."""

import uuid

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

NEUTRAL = "If an account uses that address, a link to choose a new password is on its way."


@pytest.fixture
def client_ip(settings):
    settings.OPSHUB_PASSWORD_RESET_RATE_PER_EMAIL = (3, 3600)
    settings.OPSHUB_PASSWORD_RESET_RATE_PER_IP = (5, 3600)
    # A fresh address per test: the counters live in Redis, which outlives the test.
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _ask(ip, email):
    response = Client(REMOTE_ADDR=ip).post(
        "/accounts/password_reset/", {"email": email}, follow=True
    )
    assert response.status_code == 200
    assert NEUTRAL in response.content.decode()
    return response


@pytest.fixture
def fresh_counters():
    from django.core.cache import cache

    redis = cache._cache.get_client(write=True)
    for key in redis.scan_iter(match=cache.make_key("password-reset:*")):
        redis.delete(key)


def test_the_fourth_request_for_one_address_sends_nothing_and_looks_the_same(
    client_ip, member, fresh_counters
):
    for _ in range(3):
        _ask(client_ip, member.email)
    assert len(mail.outbox) == 3

    _ask(client_ip, member.email.upper())

    assert len(mail.outbox) == 3


def test_another_address_from_the_same_ip_is_held_by_the_ip_cap(
    client_ip, member, lead, fresh_counters
):
    for _ in range(4):
        _ask(client_ip, member.email)  # three sent, the fourth held by the address cap
    _ask(client_ip, lead.email)  # the fifth from this IP: still under the IP cap
    assert [m.to for m in mail.outbox][-1] == [lead.email] and len(mail.outbox) == 4

    _ask(client_ip, lead.email)

    assert len(mail.outbox) == 4
    # Another IP is not held by this one's cap.
    _ask(client_ip.replace("10.", "172.", 1), lead.email)
    assert len(mail.outbox) == 5


def test_unknown_addresses_count_too_so_the_limit_reveals_no_account(
    client_ip, member, fresh_counters
):
    for n in range(5):
        _ask(client_ip, f"ghost-{n}@example.com")

    response = _ask(client_ip, member.email)

    assert len(mail.outbox) == 0
    assert response.redirect_chain[-1][0] == "/accounts/password_reset/done/"
