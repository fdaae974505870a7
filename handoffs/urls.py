from django.urls import path

from handoffs import stall_views, views

app_name = "handoffs"

urlpatterns = [
    path("work/", views.item_list, name="item-list"),
    path("work/<int:pk>/", views.item_detail, name="item-detail"),
    path("workflows/", views.workflow_list, name="workflow-list"),
    path("workflows/<int:pk>/", views.workflow_detail, name="workflow-detail"),
    path("protocols/<int:pk>/", views.protocol_detail, name="protocol-detail"),
    path("map/", views.map_view, name="map"),
    path("notifications/", views.notification_list, name="notification-list"),
    # Stalls and the watched scheduler (issue 7)
    path("stalls/", stall_views.stall_list, name="stall-list"),
    path("stalls/<int:pk>/", stall_views.stall_detail, name="stall-detail"),
    path("stalls/<int:pk>/acknowledge/", stall_views.stall_acknowledge, name="stall-acknowledge"),
    path("stalls/<int:pk>/snooze/", stall_views.stall_snooze, name="stall-snooze"),
    path("ops/scheduler/", stall_views.scheduler, name="scheduler"),
    path("ops/scheduler/test-alert/", stall_views.scheduler_test_alert, name="scheduler-test-alert"),
]
