from django.urls import path

from opshub.accounts.oidc import views

app_name = "oidc"

urlpatterns = [
    path("authenticate/", views.SignInView.as_view(), name="authenticate"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
]
