import pytest
from django.urls import reverse

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
