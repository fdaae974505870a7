import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import dateformat, timezone

from reviews import services
from reviews.models import ProjectorLink
from reviews.services import projector_link_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(review, lead):
    return projector_link_create(review=review, by=lead)


def test_the_signed_link_opens_the_projector_without_login(client, link, log_breakage):
    log_breakage(title="Invoice sent to the wrong contact")
    response = client.get(link.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="projector"' in body and "Invoice sent to the wrong contact" in body
    # Read-only: no form, no CSRF-protected action anywhere on it.
    assert "<form" not in body and 'method="post"' not in body


def test_htmx_polls_return_only_the_slides(client, link):
    response = client.get(link.get_absolute_url(), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'data-key="overview"' in body


def test_the_link_cannot_change_anything(client, link):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(link.get_absolute_url())
        assert response.status_code == 405
    # The write endpoints still want a login, whatever link the projector holds.
    url = reverse("reviews:entry-mark", args=[link.review_id])
    response = client.post(url, {"key": "scoreboard", "state": "reviewed"})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert not link.review.entries.exists()


def test_a_revoked_link_is_refused(client, link, lead):
    client.force_login(lead)
    client.post(reverse("reviews:link-revoke", args=[link.pk]))
    client.logout()
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert client.get(link.get_absolute_url()).status_code == 404


def test_a_tampered_or_forged_token_is_refused(client, link):
    assert client.get(link.get_absolute_url()[:-3] + "abc/").status_code == 404
    forged = ProjectorLink(pk=link.pk, nonce="guessed").token
    assert client.get(reverse("reviews:projector-public", args=[forged])).status_code == 404


@pytest.mark.parametrize("persona", ["member", "outsider", "viewer"])
def test_only_facilitators_create_or_revoke_links(client, review, link, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(reverse("reviews:link-create", args=[review.pk])).status_code == 403
    assert client.post(reverse("reviews:link-revoke", args=[link.pk])).status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None and ProjectorLink.objects.count() == 1


def test_the_facilitator_creates_a_link_shown_on_the_review_page(client, review, lead):
    client.force_login(lead)
    response = client.post(reverse("reviews:link-create", args=[review.pk]), follow=True)
    link = ProjectorLink.objects.get()
    assert link.get_absolute_url() in response.content.decode()


def test_a_link_works_for_seven_days_by_default_and_the_page_says_until_when(client, review, lead):
    client.force_login(lead)
    before = timezone.now()
    response = client.post(reverse("reviews:link-create", args=[review.pk]), follow=True)
    link = ProjectorLink.objects.get()
    assert before + dt.timedelta(days=7) <= link.expires_at <= timezone.now() + dt.timedelta(days=7)
    expiry = dateformat.format(timezone.localtime(link.expires_at), "j M Y H:i")
    assert f"Expires {expiry}" in response.content.decode()


@pytest.mark.parametrize("days", [1, 30])
def test_the_facilitator_picks_how_long_the_link_works(client, review, lead, days):
    client.force_login(lead)
    client.post(reverse("reviews:link-create", args=[review.pk]), {"days": str(days)})
    link = ProjectorLink.objects.get()
    assert link.expires_at - link.created_at == pytest.approx(
        dt.timedelta(days=days), abs=dt.timedelta(seconds=5)
    )


@pytest.mark.parametrize("days", ["365", "0", "²", "x" * 5000])
def test_a_lifetime_that_is_not_offered_creates_no_link(client, review, lead, days):
    client.force_login(lead)
    response = client.post(
        reverse("reviews:link-create", args=[review.pk]), {"days": days}, follow=True
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ProjectorLink.objects.exists()


def test_an_expired_link_answers_410_with_an_explanation_not_the_projector(client, link):
    with time_machine.travel(link.expires_at + dt.timedelta(seconds=1)):
        response = client.get(link.get_absolute_url())
        polled = client.get(link.get_absolute_url(), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 410 and polled.status_code == 410
    assert "This projector link has expired" in body
    assert 'class="projector"' not in body
    # Still usable just before its expiry.
    with time_machine.travel(link.expires_at - dt.timedelta(seconds=5)):
        assert client.get(link.get_absolute_url()).status_code == 200


def test_an_expired_link_is_no_longer_listed_as_active(client, review, link, lead):
    client.force_login(lead)
    with time_machine.travel(link.expires_at + dt.timedelta(seconds=1)):
        body = client.get(review.get_absolute_url()).content.decode()
    assert link.get_absolute_url() not in body and "No active link." in body


def test_a_link_can_still_be_revoked_before_it_expires(client, link, lead):
    services.projector_link_revoke(link=link, by=lead)
    assert client.get(link.get_absolute_url()).status_code == 404


def test_the_service_refuses_a_lifetime_it_does_not_offer(review, lead):
    with pytest.raises(ValidationError) as refused:
        services.projector_link_create(review=review, by=lead, days=365)
    assert "days" in refused.value.message_dict
    assert not ProjectorLink.objects.exists()
