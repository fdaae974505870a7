"""The layout's htmx config: refused forms (400, 422) swap like 200; other failures swap
nothing and are errors (opshub.js shows the banner). The browser side is proved in
test_htmx_refusals_browser.py."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def _first_rule(rules, status):
    return next(rule for rule in rules if re.search(rule["code"], str(status)))


def test_the_layout_swaps_refused_forms_and_reports_other_failures(client, member):
    client.force_login(member)
    body = client.get("/work/").content.decode()
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", body)
    config = json.loads(meta.group(1))
    rules = config["responseHandling"]
    assert _first_rule(rules, 204)["swap"] is False
    for status in (200, 400, 422):
        rule = _first_rule(rules, status)
        assert rule["swap"] is True and not rule.get("error")
    for status in (401, 403, 404, 409, 413, 429, 500, 502, 503):
        rule = _first_rule(rules, status)
        assert rule["swap"] is False and rule["error"] is True
    assert (config["allowEval"], config["selfRequestsOnly"]) == (False, True)
