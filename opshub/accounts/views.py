"""The user's settings page: API tokens (create with a name, list, revoke; the key shown once)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opshub.accounts.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “CRM sync script”, to recognise it later."
    )


def _settings_context(request, form, **extra):
    tokens = ApiToken.objects.filter(user=request.user)
    return {"form": form, "tokens": tokens, "nav_active": "settings", **extra}


@login_required
def settings_page(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, raw = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
        # Rendered, not redirected: the raw key exists only in this response.
        context = _settings_context(request, TokenForm(), new_token=token, raw_key=raw)
        return render(request, "accounts/settings.html", context)
    return render(request, "accounts/settings.html", _settings_context(request, form))


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("accounts:settings")
