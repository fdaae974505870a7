"""URLs of the map (docs/workflows.md, "The map").

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.map import views

urlpatterns = [
    path("map/", views.map_view, name="map"),
]
