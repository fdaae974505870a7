from django.urls import include, path

from scoreboard import views
from scoreboard.forecasting import urls as forecasting_urls

app_name = "scoreboard"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("scoreboard/import/", views.import_view, name="import"),
    path("scoreboard/import/<str:pk>/", views.import_run_view, name="import-run"),
    path("discovery/", include("scoreboard.discovery.urls")),
    path("scoreboard/workflows/<int:pk>/target/", views.target_set, name="target-set"),
    *forecasting_urls.urlpatterns,
]
