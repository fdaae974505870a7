from django.urls import path

from scoreboard import views

app_name = "scoreboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
