"""The scoreboard's filter form over htmx: a refused window answers 400 with the form and its
messages (the board keeps the window it shows); an accepted one clears old messages."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("scoreboard:dashboard")
FROM_FILTERS = {"HX-Request": "true", "HX-Trigger": "scoreboard-filters", "HX-Target": "board"}
BACKWARDS = {"period": "custom", "since": "2025-02-01", "until": "2025-01-01"}


def test_a_window_that_ends_before_it_starts_answers_400_with_the_filter_form(
    client, member, workflow
):
    client.force_login(member)
    response = client.get(DASHBOARD, BACKWARDS, headers=FROM_FILTERS)
    body = response.content.decode()
    assert response.status_code == 400
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#scoreboard-filters", "outerHTML")
    assert response["HX-Push-Url"] == "false"
    assert body.lstrip().startswith('<form id="scoreboard-filters"')
    assert "The last day must be on or after the first day." in body
    assert 'id="board"' not in body and "<html" not in body


def test_custom_dates_left_empty_ask_for_each_day(client, member, workflow):
    client.force_login(member)
    response = client.get(DASHBOARD, {"period": "custom"}, headers=FROM_FILTERS)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Pick the first day of the window." in body
    assert "Pick the last day of the window." in body


def test_an_accepted_window_brings_the_form_back_out_of_band_without_messages(
    client, member, workflow
):
    client.force_login(member)
    window = {"period": "custom", "since": "2025-01-01", "until": "2025-02-01"}
    response = client.get(DASHBOARD, window, headers=FROM_FILTERS)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="board"')
    assert 'id="scoreboard-filters"' in body and 'hx-swap-oob="true"' in body
    assert "field-error" not in body


def test_the_boards_own_refresh_leaves_the_filter_form_alone(client, member, workflow):
    """The poll asks with the page's URL; half-typed dates in the form stay as they are."""
    client.force_login(member)
    poll = {"HX-Request": "true", "HX-Trigger": "board", "HX-Target": "board"}
    response = client.get(DASHBOARD, BACKWARDS, headers=poll)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="board"')
    assert "scoreboard-filters" not in body


def test_without_htmx_a_refused_window_shows_the_page_with_the_message(client, member, workflow):
    client.force_login(member)
    response = client.get(DASHBOARD, BACKWARDS)
    body = response.content.decode()
    assert response.status_code == 200
    assert "The last day must be on or after the first day." in body
    assert "hx-swap-oob" not in body
