"""The page behind the "switch to the daily digest" / "unsubscribe from the digest" links.

No login: the signed token in the URL names the person and the delivery to switch to
(opshub.mail.preferences). GET only shows what would change; the switch is a POST from
the page's CSRF-protected form, or a mail client's RFC 8058 one-click POST.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from opshub.mail import preferences as email_preferences


def _page(request: HttpRequest, token: str, status: int = 200) -> HttpResponse:
    found = email_preferences.read_token(token)
    if found is None:
        return render(request, "handoffs/email_delivery.html", {"invalid": True}, status=400)
    person, delivery = found
    context = {
        "person": person,
        "delivery": delivery,
        "token": token,
        "switched": person.email_delivery == delivery,
        "switch_back_url": email_preferences.switch_url(person),
    }
    return render(request, "handoffs/email_delivery.html", context, status=status)


@require_http_methods(["GET", "POST"])
def switch(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        return _page(request, token)
    found = email_preferences.read_token(token)
    if found is None:
        return _page(request, token)
    person, delivery = found
    email_preferences.switch(person, delivery)
    messages.success(request, "Saved. The link below switches it back.")
    return redirect("handoffs:email-delivery", token=token)


@csrf_exempt  # The token is the authority, not a cookie; mail clients POST without one.
@require_http_methods(["GET", "POST"])
def one_click(request: HttpRequest, token: str) -> HttpResponse:
    """RFC 8058: POST with List-Unsubscribe=One-Click switches; anything else shows the page."""
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        found = email_preferences.read_token(token)
        if found is None:
            return _page(request, token)
        email_preferences.switch(*found)
        return _page(request, token)
    return _page(request, token)
