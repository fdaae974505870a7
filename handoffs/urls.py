from django.urls import path

from handoffs import views

app_name = "handoffs"

urlpatterns = [
    path("work/", views.item_list, name="item-list"),
    path("work/<int:pk>/", views.item_detail, name="item-detail"),
    path("workflows/", views.workflow_list, name="workflow-list"),
    path("workflows/<int:pk>/", views.workflow_detail, name="workflow-detail"),
    path("protocols/<int:pk>/", views.protocol_detail, name="protocol-detail"),
    path("map/", views.map_view, name="map"),
    path("notifications/", views.notification_list, name="notification-list"),
]
