from django.urls import path

from opshub.accounts import views

app_name = "accounts"

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
