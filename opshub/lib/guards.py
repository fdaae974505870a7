"""The one-line permission guard of views and services."""

from django.core.exceptions import PermissionDenied


def require(allowed: bool, message: str = "") -> None:
    """Refuses (PermissionDenied, a 403 with `message`) unless `allowed`."""
    if not allowed:
        raise PermissionDenied(message)
