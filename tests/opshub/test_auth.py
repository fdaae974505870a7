import re

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

PAGES = ["/", "/work/", "/workflows/", "/map/", "/reviews/", "/notifications/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_by_email_then_logout(client, member):
    response = client.post(
        "/accounts/login/", {"username": "MEMBER@example.com", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get("/work/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/work/").status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, member):
    response = client.post("/accounts/login/", {"username": member.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode().lower() or (
        "enter a correct" in response.content.decode().lower()
    )


def test_repeated_failures_lock_the_login(client, member, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": member.email, "password": "nope"})
    response = client.post(
        "/accounts/login/", {"username": member.email, "password": "correct-horse-battery"}
    )
    assert response.status_code in (403, 429)
    assert client.get("/work/").status_code == 302


def test_password_reset_by_email(client, member):
    response = client.post("/accounts/password_reset/", {"email": member.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[-1] if "testserver" in link else "/" + link.split("/", 3)[3]
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(
        form_url,
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert response.status_code == 302
    response = client.post(
        "/accounts/login/", {"username": member.email, "password": "a-brand-new-passphrase"}
    )
    assert response.status_code == 302


def test_weak_passwords_are_refused(client, member):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("12345678", member)


def test_only_admins_reach_the_admin(client, lead, admin_user):
    client.force_login(lead)
    assert client.get("/admin/").status_code == 302
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/handoffs/workitem/",
        "/admin/handoffs/event/",
        "/admin/handoffs/workflow/",
        "/admin/handoffs/team/",
        "/admin/accounts/user/",
        "/admin/accounts/apitoken/",
    ],
)
def test_admin_lists_every_model(client, admin_user, item, url):
    client.force_login(admin_user)
    assert client.get(url).status_code == 200
