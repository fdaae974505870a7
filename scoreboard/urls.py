from django.urls import include, path

from scoreboard import views

app_name = "scoreboard"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("scoreboard/import/", views.import_view, name="import"),
    path("discovery/", include("scoreboard.discovery.urls")),
    path("scoreboard/workflows/<int:pk>/target/", views.target_set, name="target-set"),
]
