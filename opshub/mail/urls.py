"""URLs of email preferences: the signed one-click links in sent emails.

Included by handoffs/urls.py under the `handoffs` namespace, where these URL names were born:
links in emails already sent, and `preferences.switch_url`, reverse `handoffs:email-delivery`."""

from django.urls import path

from opshub.mail import views

urlpatterns = [
    # Signed links in emails: switch immediate ↔ daily digest without a password.
    path("email/delivery/<str:token>/", views.switch, name="email-delivery"),
    path(
        "email/delivery/<str:token>/one-click/",
        views.one_click,
        name="email-delivery-one-click",
    ),
]
