from django.conf import settings


def shell(request):
    """What the base layout needs on every page: the unread notification count, and the
    sign-in options the login page offers."""
    sign_in = {
        "sso_provider": settings.OPSHUB_OIDC_PROVIDER_NAME if settings.OPSHUB_OIDC_ENABLED else "",
        "password_login": settings.OPSHUB_PASSWORD_LOGIN,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return sign_in
    from handoffs.models import Notification

    return {**sign_in, "unread_notifications": Notification.objects.unread_count_for(user)}
