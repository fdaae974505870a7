"""Invitations: an inactive account, an email over real SMTP with a signed, expiring link
that sets the password; a used, replaced or expired link says why it does not work."""

import re

import pytest
import time_machine
from django.utils import timezone

from opshub.accounts.models import User
from opshub.mail.tasks import send_due_emails_task

pytestmark = pytest.mark.django_db


def _invite(client, by, team, email="new.hire@example.com"):
    client.force_login(by)
    return client.post(
        "/people/invite/",
        {"email": email, "full_name": "New Hire", "role": "member", "team": team.pk},
    )


def _link(smtp):
    (message,) = smtp.parsed()[-1:]
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+(/invitations/[^/\s]+/)", text).group(1), message


def test_a_lead_invites_a_hire_who_sets_a_password_and_can_log_in(
    client, lead, teams, smtp_mailers
):
    team = teams["fulfilment"]
    response = _invite(client, lead, team)
    assert response.status_code == 302
    hire = User.objects.get(email="new.hire@example.com")
    assert not hire.is_active and hire.is_invited and not hire.has_usable_password()
    assert team.members.filter(pk=hire.pk).exists() and hire.invited_by == lead

    assert send_due_emails_task() == {"sent": 1, "failed": 0}
    path, message = _link(smtp_mailers)
    assert message["To"] == hire.email
    assert "Fulfilment" in message.get_body(("plain",)).get_content()
    assert path in message.get_body(("html",)).get_content()

    client.logout()
    assert client.get(path).status_code == 200
    accepted = client.post(
        path, {"new_password1": "a-long-fresh-secret", "new_password2": "a-long-fresh-secret"}
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/accounts/login/"
    hire.refresh_from_db()
    assert hire.is_active and hire.check_password("a-long-fresh-secret")
    login = client.post(
        "/accounts/login/", {"username": hire.email, "password": "a-long-fresh-secret"}
    )
    assert login.status_code == 302


def test_a_used_link_says_it_was_accepted(client, lead, teams, smtp_mailers):
    _invite(client, lead, teams["fulfilment"])
    send_due_emails_task()
    path, _ = _link(smtp_mailers)
    client.logout()
    client.post(
        path, {"new_password1": "a-long-fresh-secret", "new_password2": "a-long-fresh-secret"}
    )
    again = client.get(path)
    assert again.status_code == 410
    assert "already been accepted" in again.text
    second = client.post(
        path, {"new_password1": "another-secret-1", "new_password2": "another-secret-1"}
    )
    assert second.status_code == 410
    assert User.objects.get(email="new.hire@example.com").check_password("a-long-fresh-secret")


def test_an_expired_link_says_so_and_leaves_the_account_inactive(client, lead, teams, smtp_mailers):
    _invite(client, lead, teams["fulfilment"])
    send_due_emails_task()
    path, _ = _link(smtp_mailers)
    client.logout()
    with time_machine.travel(timezone.now() + timezone.timedelta(days=8)):
        page = client.get(path)
        posted = client.post(
            path, {"new_password1": "x-long-secret-9", "new_password2": "x-long-secret-9"}
        )
    assert page.status_code == 410 and "expired" in page.text and "send a new one" in page.text
    assert posted.status_code == 410
    assert not User.objects.get(email="new.hire@example.com").is_active


def test_a_resent_invitation_replaces_the_older_link(client, lead, teams, smtp_mailers):
    _invite(client, lead, teams["fulfilment"])
    send_due_emails_task()
    old, _ = _link(smtp_mailers)
    hire = User.objects.get(email="new.hire@example.com")
    assert client.post(f"/people/{hire.pk}/resend/").status_code == 302
    send_due_emails_task()
    new, _ = _link(smtp_mailers)
    client.logout()
    assert "newer invitation" in client.get(old).text
    assert client.get(new).status_code == 200


def test_a_forged_link_is_refused_without_an_error_page(client):
    page = client.get("/invitations/not-a-real-token/")
    assert page.status_code == 410 and "not valid" in page.text


def test_a_weak_password_is_refused_per_field_and_the_account_stays_inactive(
    client, lead, teams, smtp_mailers
):
    _invite(client, lead, teams["fulfilment"])
    send_due_emails_task()
    path, _ = _link(smtp_mailers)
    client.logout()
    response = client.post(path, {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 400 and "too short" in response.text
    assert not User.objects.get(email="new.hire@example.com").is_active


def test_an_email_that_has_an_account_is_refused_and_nothing_is_sent(
    client, lead, teams, member, smtp_mailers
):
    response = _invite(client, lead, teams["fulfilment"], email="MEMBER@example.com")
    assert response.status_code == 200
    assert "already has an account" in response.text
    assert send_due_emails_task() == {"sent": 0, "failed": 0}


def test_a_lead_invites_only_into_their_own_teams_and_never_an_admin(
    client, lead, teams, smtp_mailers
):
    refused = _invite(client, lead, teams["sales"])
    assert refused.status_code == 200 and "Select a valid choice" in refused.text
    admin = client.post(
        "/people/invite/",
        {"email": "boss@example.com", "role": "admin", "team": teams["fulfilment"].pk},
    )
    assert admin.status_code == 200
    assert not User.objects.filter(email__in=["new.hire@example.com", "boss@example.com"]).exists()


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_cannot_invite(client, persona, request, teams):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get("/people/invite/").status_code == 403
    assert _invite(client, user, teams["fulfilment"]).status_code == 403
    assert not User.objects.filter(email="new.hire@example.com").exists()


def test_an_admin_invites_without_a_team_and_lands_on_the_persons_page(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/people/invite/", {"email": "Consultant@Example.com", "role": "viewer", "team": ""}
    )
    person = User.objects.get(email="consultant@example.com")
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
    assert person.role == "viewer" and person.is_invited and not person.teams.exists()
    page = client.get(response["Location"])
    assert "not accepted yet" in page.text and "Send a new invitation" in page.text
