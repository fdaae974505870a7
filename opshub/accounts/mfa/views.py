"""Two-factor pages: the second sign-in step, setting up an authenticator, managing it."""

import base64

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from opshub.accounts.mfa import middleware, services
from opshub.accounts.mfa.forms import CodeForm, TotpCodeForm


def _next_url(request):
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return "/"


@login_required
def verify(request):
    """The second step of signing in, for an account with an authenticator."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.verify_code(request.user, form.cleaned_data["code"]):
            request.session.cycle_key()  # a new session id for the fully signed-in session
            middleware.mark_done(request)
            return redirect(_next_url(request))
        form.add_error("code", "That code is not right (or was used already). Try the current one.")
    context = {"form": form, "next": _next_url(request)}
    return render(request, "accounts/mfa_verify.html", context)


@login_required
def setup(request):
    """Scan the QR code, type the code the app shows: on, and the recovery codes shown once."""
    if services.confirmed_authenticator(request.user):
        return redirect("mfa:manage")
    device = services.pending_authenticator(request)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.second_factor_enable(
            user=request.user, device=device, code=form.cleaned_data["code"]
        )
        if codes is not None:
            request.session.pop(services.PENDING_KEY, None)
            middleware.mark_done(request)
            context = {"codes": codes, "next": _next_url(request), "nav_active": "settings"}
            return render(request, "accounts/mfa_setup.html", context)
        form.add_error("code", "That code is not right. Check the phone's clock and try again.")
    context = {
        "form": form,
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        "secret": base64.b32encode(device.bin_key).decode(),
        "next": _next_url(request),
        "required": middleware.must_use_second_factor(request.user),
        "nav_active": "settings",
    }
    return render(request, "accounts/mfa_setup.html", context)


@login_required
@require_safe
def manage(request):
    context = {
        "authenticator": services.confirmed_authenticator(request.user),
        "required": middleware.must_use_second_factor(request.user),
        "form": CodeForm(),
        "nav_active": "settings",
    }
    return render(request, "accounts/mfa_manage.html", context)


@login_required
@require_POST
def recovery_codes(request):
    """New recovery codes (the old ones stop working); needs a current code."""
    form = CodeForm(request.POST)
    if form.is_valid() and services.verify_code(request.user, form.cleaned_data["code"]):
        codes = services.recovery_codes_renew(user=request.user)
        context = {"codes": codes, "next": "", "nav_active": "settings"}
        return render(request, "accounts/mfa_setup.html", context)
    return _refused(request, form)


@login_required
@require_POST
def disable(request):
    if middleware.must_use_second_factor(request.user):
        messages.error(request, "Your role must use two-factor authentication: it stays on.")
        return redirect("mfa:manage")
    form = CodeForm(request.POST)
    if form.is_valid() and services.verify_code(request.user, form.cleaned_data["code"]):
        services.second_factor_disable(user=request.user)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("mfa:manage")
    return _refused(request, form)


def _refused(request, form):
    if form.is_valid():
        form.add_error("code", "That code is not right (or was used already).")
    context = {
        "authenticator": services.confirmed_authenticator(request.user),
        "required": middleware.must_use_second_factor(request.user),
        "form": form,
        "nav_active": "settings",
    }
    return render(request, "accounts/mfa_manage.html", context, status=400)
