from django.urls import path

from handoffs import stall_views, views

app_name = "handoffs"

urlpatterns = [
    # Work items, the board and the inbox (issue 4)
    path("work/", views.item_list, name="item-list"),
    path("work/new/", views.item_create, name="item-create"),
    path("work/inbox/", views.inbox, name="inbox"),
    path("work/board/", views.item_board, name="item-board"),
    path("work/board/<int:workflow_pk>/", views.item_board, name="item-board-workflow"),
    path("work/<int:pk>/", views.item_detail, name="item-detail"),
    path("work/<int:pk>/handoff/", views.item_handoff, name="item-handoff"),
    path("work/<int:pk>/accept/", views.item_accept, name="item-accept"),
    path("work/<int:pk>/bounce/", views.item_bounce, name="item-bounce"),
    path("work/<int:pk>/block/", views.item_block, name="item-block"),
    path("work/<int:pk>/unblock/", views.item_unblock, name="item-unblock"),
    path("work/<int:pk>/deliver/", views.item_deliver, name="item-deliver"),
    path("work/<int:pk>/cancel/", views.item_cancel, name="item-cancel"),
    path("work/<int:pk>/comment/", views.item_comment, name="item-comment"),
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
