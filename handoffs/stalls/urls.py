"""URLs of stalls and the watched scheduler (docs/stalls.md).

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.stalls import policy, views

urlpatterns = [
    path("stalls/", views.stall_list, name="stall-list"),
    path("stalls/<int:pk>/", views.stall_detail, name="stall-detail"),
    path("stalls/<int:pk>/acknowledge/", views.stall_acknowledge, name="stall-acknowledge"),
    path("stalls/<int:pk>/snooze/", views.stall_snooze, name="stall-snooze"),
    path("workflows/<int:pk>/escalation/", policy.policy_edit, name="workflow-escalation"),
    path("ops/scheduler/", views.scheduler, name="scheduler"),
    path("ops/scheduler/test-alert/", views.scheduler_test_alert, name="scheduler-test-alert"),
]
