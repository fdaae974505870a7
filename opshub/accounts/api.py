from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from opshub.accounts.models import ApiToken


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`, checked against the stored hash."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token header.") from None
        token = ApiToken.objects.authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "opshub.accounts.api.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication: "Token <key>"',
        }


def _handles(view, method):
    method = method.lower()
    return method in view.http_method_names and hasattr(view, method)


class CanWriteOrReadOnly(permissions.BasePermission):
    """Every API view's gate (DEFAULT_PERMISSION_CLASSES, after IsAuthenticated): viewers
    read, and a write they send is refused here, before its body is parsed or an object is
    looked up. Views add their own object rules (who may act on *this* item) on top."""

    message = "Viewers have read-only access."

    def has_permission(self, request, view):
        # A method the URL never accepts stays 405 for everyone: it reveals nothing.
        if request.method in permissions.SAFE_METHODS or not _handles(view, request.method):
            return True
        return bool(request.user and request.user.is_authenticated and request.user.can_write)
