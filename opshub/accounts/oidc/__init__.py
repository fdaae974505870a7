"""Sign-in through an OpenID Connect provider (mozilla-django-oidc, configured from discovery)."""
