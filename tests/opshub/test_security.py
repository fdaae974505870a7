"""CSRF on forms and htmx, the Content Security Policy and what templates may contain, and
user text escaped on every page that shows it.

`check --deploy` is tested in tests/opshub/test_settings.py, login throttling in
tests/opshub/test_auth.py, who may see and do what in tests/test_permissions_matrix.py.
"""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from handoffs.models import Comment, Handoff, WorkItem
from handoffs.work import services, transitions
from handoffs.workflows import services as wf

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- CSRF ------------------------------------------------------------------------------------


@pytest.fixture
def strict(lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    return client


def _csrf_from_page(client, path):
    page = client.get(path).content.decode()
    headers = re.search(r"hx-headers='([^']+)'", page)
    assert headers, "base.html must put the CSRF token on <body hx-headers>"
    return json.loads(headers.group(1))["X-CSRFToken"]


def test_a_form_post_without_the_token_is_refused_and_changes_nothing(strict, item):
    response = strict.post(f"/work/{item.pk}/comment/", {"body": "Forged"})
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_an_htmx_post_carries_the_token_from_the_body_hx_headers(strict, item):
    token = _csrf_from_page(strict, item.get_absolute_url())
    response = strict.post(
        f"/work/{item.pk}/comment/",
        {"body": "Real comment"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert Comment.objects.get().body == "Real comment"


def test_every_post_form_on_a_page_has_the_token(strict, item):
    for path in [item.get_absolute_url(), "/work/new/", "/reviews/breakages/new/"]:
        page = strict.get(path).content.decode()
        forms = re.findall(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", page, re.S | re.I)
        assert forms, path
        for form in forms:
            assert 'name="csrfmiddlewaretoken"' in form, f"{path}: a POST form without the token"


def test_the_api_with_a_session_needs_the_token_too(strict, workflow):
    body = {"workflow": workflow.pk, "title": "Forged through the API"}
    response = strict.post("/api/v1/work-items/", body, content_type="application/json")
    assert response.status_code == 403
    assert not WorkItem.objects.filter(title=body["title"]).exists()


# --- Content Security Policy ------------------------------------------------------------------


def test_the_policy_allows_no_inline_script_anywhere(client, lead):
    client.force_login(lead)
    policy = client.get("/work/").headers["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


# What a strict CSP would block (and so must not be in a page): a <script> with a body that
# is not JSON data, on*= handlers, style= attributes, javascript: URLs, hx-on (needs eval).
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]*\sstyle\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)
# In JavaScript: HTML strings carrying inline handlers or style attributes.
JS_INLINE = re.compile(r"""["'`][^"'`]*<[a-z][^"'`]*\s(on[a-z]+|style)\s*=""", re.I)


def _templates():
    # Email bodies are not pages: mail clients need their inline styles, and no CSP applies.
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if "email" not in path.relative_to(ROOT / "templates").parts:
            yield path
    for app in ("handoffs", "scoreboard", "reviews", "opshub"):
        yield from sorted((ROOT / app / "templates").rglob("*.html"))


def test_no_template_or_script_needs_unsafe_inline():
    offenders = []
    for path in _templates():
        text = path.read_text()
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("inline handler", HANDLER),
            ("style attribute", STYLE_ATTR),
            ("javascript: URL", JS_URL),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    for path in sorted((ROOT / "static" / "js").rglob("*.js")):
        text = path.read_text()
        for match in JS_INLINE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}: inline handler/style in HTML")
    assert not offenders, "Blocked by the CSP:\n" + "\n".join(offenders)


def test_the_scan_catches_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/x.js"></script>')
    assert not INLINE_SCRIPT.search('<script id="d" type="application/json">{}</script>')
    assert HANDLER.search('<button onclick="go()">')
    assert HANDLER.search('<div hx-on:click="go()">')
    assert not HANDLER.search('<button hx-post="/x/" data-once="1">')
    assert STYLE_ATTR.search('<div class="a" style="color:red">')
    assert JS_INLINE.search("el.innerHTML = '<img src=x onerror=alert(1)>'")


# --- User text escaped ----------------------------------------------------------------------


def test_user_text_is_escaped_on_every_page_that_shows_it(client, workflow, seller, lead):
    from reviews.services import breakage_log

    item = services.work_item_create(workflow=workflow, title=f"Order {XSS}", by=seller)
    services.work_item_comment(item=item, by=seller, body=f"Note {XSS}")
    item = transitions.handoff_submit(
        item=item,
        by=seller,
        checklist=["signed"],
        fields={"po_number": f"PO {XSS}", "amount": "10", "notes": f"Long {XSS}"},
    )
    handoff = Handoff.objects.get(workflow=workflow)
    draft = wf.protocol_draft(handoff=handoff, by=lead)
    wf.checklist_save(version=draft, by=lead, text=f"Check {XSS}", help=f"Help {XSS}")
    wf.protocol_save(version=draft, by=lead, ready_answer=f"Ready {XSS}")
    wf.protocol_publish(version=draft, by=lead)
    breakage = breakage_log(
        by=lead,
        title=f"Broke {XSS}",
        workflow=workflow,
        kind="process",
        description=f"Why {XSS}",
        items=[item],
    )

    client.force_login(lead)
    pages = [
        "/work/",
        "/work/inbox/",
        f"/work/board/{workflow.pk}/",
        item.get_absolute_url(),
        f"/protocols/{handoff.pk}/",
        f"/protocols/{handoff.pk}/print/",
        f"/reviews/breakages/{breakage.pk}/",
        "/reviews/patterns/",
        "/stalls/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert XSS not in body, f"{path} shows user text unescaped"
    detail = client.get(item.get_absolute_url()).content.decode()
    assert detail.count(ESCAPED) >= 3  # title, comment, handed-off fields
    protocol = client.get(f"/protocols/{handoff.pk}/").content.decode()
    assert ESCAPED in protocol
    assert ESCAPED in client.get(f"/reviews/breakages/{breakage.pk}/").content.decode()
    # The API returns the text as data, never as a page a browser would render.
    api = client.get(f"/api/v1/work-items/{item.pk}/")
    assert api.json()["title"] == f"Order {XSS}"
    assert api.headers["Content-Type"] == "application/json"
    assert api.headers["X-Content-Type-Options"] == "nosniff"
