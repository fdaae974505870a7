"""The stall tests again, with the scan's one-pass match always on.

Below MATCH_ABOVE open episodes (every other test) the scan resolves and detects without
`stalls.unmatched()`; with 100,000 items open it goes through it. Both paths must open,
resolve and alert alike."""

import pytest

from handoffs.stalls import detection as stalls
from tests.handoffs.test_stalls import *  # noqa: F403 (the same tests, collected here)


@pytest.fixture(autouse=True)
def always_match(monkeypatch):
    monkeypatch.setattr(stalls, "MATCH_ABOVE", 0)
