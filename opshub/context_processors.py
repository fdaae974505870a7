from django.conf import settings


def sign_in(request):
    """The sign-in options the login page (and the shell's sign-in link) offer."""
    return {
        "sso_provider": settings.OPSHUB_OIDC_PROVIDER_NAME if settings.OPSHUB_OIDC_ENABLED else "",
        "password_login": settings.OPSHUB_PASSWORD_LOGIN,
    }
