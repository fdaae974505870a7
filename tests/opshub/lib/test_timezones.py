"""A person's wall-clock time: their zone, else the site's, else UTC."""

import datetime
from types import SimpleNamespace

from opshub.lib.timezones import clock_for, user_zone

MOMENT = datetime.datetime(2026, 7, 1, 12, 22, tzinfo=datetime.UTC)


def test_a_time_is_shown_in_the_persons_own_zone_with_its_name():
    assert clock_for(SimpleNamespace(time_zone="Europe/Berlin"), MOMENT) == "14:22 CEST"
    assert clock_for(SimpleNamespace(time_zone="America/New_York"), MOMENT) == "08:22 EDT"


def test_without_a_zone_of_their_own_the_sites_zone_is_used(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    assert clock_for(SimpleNamespace(time_zone=""), MOMENT) == "21:22 JST"


def test_an_unknown_zone_falls_back_to_utc_and_nothing_is_no_time():
    assert user_zone(SimpleNamespace(time_zone="Mars/Olympus")) == datetime.UTC
    assert clock_for(SimpleNamespace(time_zone="Mars/Olympus"), MOMENT) == "12:22 UTC"
    assert clock_for(SimpleNamespace(time_zone="UTC"), None) == ""
