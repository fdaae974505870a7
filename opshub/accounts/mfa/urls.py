from django.urls import path

from opshub.accounts.mfa import views

app_name = "mfa"

urlpatterns = [
    path("", views.manage, name="manage"),
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
    path("recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("disable/", views.disable, name="disable"),
]
