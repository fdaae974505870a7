"""/api/docs/ in real Chromium: Swagger UI from our own static files under the strict CSP."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_list_the_operations_under_the_strict_csp(
    page, live_server, login, member, screenshot
):
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:"))
            else None
        ),
    )
    login(member)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("opshub API")
    expect(page.get_by_role("button", name="GET /api/v1/work-items/", exact=True)).to_be_visible()
    expect(
        page.get_by_role("button", name="POST /api/v1/work-items/{id}/handoff/", exact=True)
    ).to_be_visible()
    assert page.locator(".opblock").count() > 20
    screenshot("api-docs-1366")
    assert refused == []
    assert outside == []


def test_the_api_docs_page_keeps_the_strict_csp(client):
    response = client.get("/api/docs/")
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    html = response.content.decode()
    assert "<script>" not in html and "<style>" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
