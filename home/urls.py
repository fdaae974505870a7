"""The My work home (docs/work-items.md, "My work"). Included by opshub/urls.py."""

from django.urls import path

from home import views

app_name = "home"

urlpatterns = [
    path("work/mine/", views.my_work, name="my-work"),
]
