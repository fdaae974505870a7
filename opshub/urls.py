from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from opshub import views
from opshub.accounts.forms import ThrottledPasswordResetForm

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("ping/", views.ping, name="ping"),
    # Before Django's auth URLs so the throttled form serves the same URL and name.
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=ThrottledPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", include("opshub.accounts.urls")),
    path("account/2fa/", include("opshub.accounts.mfa.urls")),
    path("oidc/", include("opshub.accounts.oidc.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/v1/", include("opshub.api_urls")),
    path("styleguide/", views.styleguide, name="styleguide"),
    path("", include("scoreboard.urls")),
    path("", include("handoffs.urls")),
    path("reviews/", include("reviews.urls")),
]
