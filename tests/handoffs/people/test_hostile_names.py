"""Team and person names are user text: shown escaped on every page and in the invitation."""

import pytest

from handoffs.models import Team
from handoffs.people import services
from opshub.mail.models import EmailDelivery

pytestmark = pytest.mark.django_db

RAW = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


def test_hostile_team_and_person_names_are_escaped_on_pages_and_in_the_email(
    client, admin_user, make_user
):
    admin_user.full_name = f"Admin {RAW}"
    admin_user.save()
    person = make_user("p@example.com", full_name=f"Person {RAW}")
    team = services.team_create(by=admin_user, name=f"Team {RAW}", description=RAW, lead=person)
    invited = services.person_invite(
        by=admin_user, email="new@example.com", full_name=f"New {RAW}", team=team
    )
    client.force_login(admin_user)
    for path in ["/teams/", f"/teams/{team.pk}/", "/people/", f"/people/{person.pk}/"]:
        body = client.get(path).text
        assert RAW not in body, path
        assert ESCAPED in body, path
    html = EmailDelivery.objects.get(recipient=invited).body_html
    assert RAW not in html and ESCAPED in html
    assert Team.objects.filter(pk=team.pk).exists()
