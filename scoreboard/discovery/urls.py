from django.urls import path

from scoreboard.discovery import views

app_name = "discovery"

urlpatterns = [
    path("", views.baseline_list, name="list"),
    path("<str:pk>/", views.baseline_map, name="map"),
    path("<str:pk>/teams/", views.baseline_teams, name="teams"),
    path("<str:pk>/workflow/", views.baseline_workflow, name="workflow"),
]
