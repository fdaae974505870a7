"""The user's settings page: API tokens (create with a name, list, revoke; the key shown once)
and, for leads and admins, which page signing in lands on; and that landing itself."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opshub.accounts.models import ApiToken, User


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “CRM sync script”, to recognise it later."
    )


class HomeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["home"]
        labels = {"home": "After signing in, open"}
        widgets = {"home": forms.RadioSelect}


def may_choose_home(user):
    """Leads and admins may land on the scoreboard; members land on their work."""
    return user.can_write and (user.is_admin or user.role == User.Role.LEAD)


def _settings_context(request, form, **extra):
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"form": form, "tokens": tokens, "nav_active": "settings", **extra}
    if may_choose_home(request.user):
        context.setdefault("home_form", HomeForm(instance=request.user))
    return context


@login_required
def home(request):
    """Where signing in lands (LOGIN_REDIRECT_URL): My work, or the scoreboard for a lead who
    chose it and for viewers, who have no work of their own. `/` stays the scoreboard."""
    user = request.user
    if not user.can_write or (may_choose_home(user) and user.home == User.Home.SCOREBOARD):
        return redirect("scoreboard:dashboard")
    return redirect("home:my-work")


@login_required
@require_POST
def home_choose(request):
    if not may_choose_home(request.user):
        raise PermissionDenied("Members land on My work; only leads choose their home.")
    form = HomeForm(request.POST, instance=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, f"Signing in now opens {request.user.get_home_display()}.")
        return redirect("accounts:settings")
    context = _settings_context(request, TokenForm(), home_form=form)
    return render(request, "accounts/settings.html", context, status=400)


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
