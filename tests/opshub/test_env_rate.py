"""OPSHUB_INTAKE_RATE_LIMIT and any other rate read from the environment: "count/period"."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from opshub.lib import env


@pytest.mark.parametrize(
    ("raw", "rate"),
    [("600/min", (600, 60)), ("10/s", (10, 1)), (" 5 / hour ", (5, 3600)), ("1/day", (1, 86400))],
)
def test_a_rate_is_a_count_per_period(monkeypatch, raw, rate):
    monkeypatch.setenv("RATE", raw)
    assert env.env_rate("RATE", "600/min") == rate


def test_unset_or_empty_takes_the_default(monkeypatch):
    monkeypatch.delenv("RATE", raising=False)
    assert env.env_rate("RATE", "600/min") == (600, 60)
    monkeypatch.setenv("RATE", "")
    assert env.env_rate("RATE", "30/s") == (30, 1)


@pytest.mark.parametrize("raw", ["600", "600/fortnight", "many/min", "0/min", "-5/min", "/min"])
def test_a_malformed_rate_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="RATE must be a count per period"):
        env.env_rate("RATE", "600/min")
