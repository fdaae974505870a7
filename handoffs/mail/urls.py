"""URLs of email preferences: the signed one-click links in sent emails.

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.mail import views

urlpatterns = [
    # Signed links in emails: switch immediate ↔ daily digest without a password.
    path("email/delivery/<str:token>/", views.switch, name="email-delivery"),
    path(
        "email/delivery/<str:token>/one-click/",
        views.one_click,
        name="email-delivery-one-click",
    ),
]
