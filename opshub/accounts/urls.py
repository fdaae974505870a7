from django.urls import path

from opshub.accounts import views

app_name = "accounts"

urlpatterns = [
    path("home/", views.home, name="home"),
    path("home/choose/", views.home_choose, name="home-choose"),
    path("settings/", views.settings_page, name="settings"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
