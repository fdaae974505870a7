from django.urls import path

from handoffs import decision_views, email_views, integration_views, stall_views, views

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
    path("work/<int:pk>/edit/", views.item_edit, name="item-edit"),
    # Workflows, protocols and the map (issue 3)
    path("workflows/", views.workflow_list, name="workflow-list"),
    path("workflows/new/", views.workflow_create, name="workflow-create"),
    path("workflows/<int:pk>/", views.workflow_detail, name="workflow-detail"),
    path("workflows/<int:pk>/edit/", views.workflow_edit, name="workflow-edit"),
    path("workflows/<int:pk>/delete/", views.workflow_delete, name="workflow-delete"),
    path("workflows/<int:pk>/stages/", views.stage_add, name="stage-add"),
    path("stages/<int:pk>/", views.stage_edit, name="stage-edit"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage-move"),
    path("stages/<int:pk>/remove/", views.stage_remove, name="stage-remove"),
    path("protocols/<int:pk>/", views.protocol_detail, name="protocol-detail"),
    path("protocols/<int:pk>/print/", views.protocol_print, name="protocol-print"),
    path("protocols/<int:pk>/diff/", views.protocol_diff, name="protocol-diff"),
    path("protocols/<int:pk>/draft/", views.protocol_edit, name="protocol-edit"),
    path("protocols/<int:pk>/draft/settings/", views.protocol_settings, name="protocol-settings"),
    path(
        "protocols/<int:pk>/draft/checklist/", views.protocol_checklist, name="protocol-checklist"
    ),
    path("protocols/<int:pk>/draft/fields/", views.protocol_field, name="protocol-field"),
    path("protocols/<int:pk>/draft/check/", views.protocol_field_check, name="protocol-check"),
    path("protocols/<int:pk>/draft/entry/", views.protocol_entry, name="protocol-entry"),
    path("protocols/<int:pk>/draft/problems/", views.protocol_problems, name="protocol-problems"),
    path("protocols/<int:pk>/draft/publish/", views.protocol_publish, name="protocol-publish"),
    path("protocols/<int:pk>/draft/discard/", views.protocol_discard, name="protocol-discard"),
    path("map/", views.map_view, name="map"),
    # Decision rights and notifications (issue 5)
    path("workflows/<int:pk>/decisions/", decision_views.matrix, name="decision-matrix"),
    path("workflows/<int:pk>/decisions/print/", decision_views.matrix_print, name="decision-print"),
    path("workflows/<int:pk>/decisions/cell/", decision_views.matrix_cell, name="decision-cell"),
    path("workflows/<int:pk>/decisions/log/", decision_views.decision_log, name="decision-log"),
    path(
        "workflows/<int:pk>/decisions/types/new/",
        decision_views.type_create,
        name="decision-type-create",
    ),
    path(
        "workflows/<int:pk>/decisions/types/<int:type_pk>/",
        decision_views.type_edit,
        name="decision-type-edit",
    ),
    path(
        "workflows/<int:pk>/decisions/types/<int:type_pk>/<str:role>/",
        decision_views.right_edit,
        name="decision-right-edit",
    ),
    path("work/<int:pk>/decisions/", decision_views.decision_create, name="decision-create"),
    path("decisions/<int:pk>/answer/", decision_views.decision_answer, name="decision-answer"),
    path("notifications/", decision_views.notification_list, name="notification-list"),
    path(
        "notifications/<int:pk>/read/",
        decision_views.notification_read,
        name="notification-read",
    ),
    path(
        "notifications/read-all/",
        decision_views.notification_read_all,
        name="notification-read-all",
    ),
    path(
        "notifications/email/",
        decision_views.notification_preference,
        name="notification-preference",
    ),
    # Stalls and the watched scheduler (issue 7)
    path("stalls/", stall_views.stall_list, name="stall-list"),
    path("stalls/<int:pk>/", stall_views.stall_detail, name="stall-detail"),
    path("stalls/<int:pk>/acknowledge/", stall_views.stall_acknowledge, name="stall-acknowledge"),
    path("stalls/<int:pk>/snooze/", stall_views.stall_snooze, name="stall-snooze"),
    path("ops/scheduler/", stall_views.scheduler, name="scheduler"),
    # Signed links in emails: switch immediate ↔ daily digest without a password.
    path("email/delivery/<str:token>/", email_views.switch, name="email-delivery"),
    path(
        "email/delivery/<str:token>/one-click/",
        email_views.one_click,
        name="email-delivery-one-click",
    ),
    path(
        "ops/scheduler/test-alert/", stall_views.scheduler_test_alert, name="scheduler-test-alert"
    ),
    # Integrations: intake webhooks, outbound webhooks, import and export (issue 9)
    path("integrations/", integration_views.intake_list, name="intake-list"),
    path("integrations/intake/new/", integration_views.intake_create, name="intake-create"),
    path("integrations/intake/<int:pk>/", integration_views.intake_detail, name="intake-detail"),
    path("integrations/intake/<int:pk>/edit/", integration_views.intake_edit, name="intake-edit"),
    path(
        "integrations/intake/<int:pk>/rotate/",
        integration_views.intake_rotate,
        name="intake-rotate",
    ),
    path(
        "integrations/deliveries/<int:pk>/",
        integration_views.intake_delivery,
        name="intake-delivery",
    ),
    path("integrations/webhooks/", integration_views.webhook_list, name="webhook-list"),
    path(
        "integrations/webhooks/<int:pk>/", integration_views.webhook_detail, name="webhook-detail"
    ),
    path(
        "integrations/webhooks/<int:pk>/test/", integration_views.webhook_test, name="webhook-test"
    ),
    path(
        "integrations/webhooks/<int:pk>/toggle/",
        integration_views.webhook_toggle,
        name="webhook-toggle",
    ),
    path(
        "integrations/webhooks/<int:pk>/edit/", integration_views.webhook_edit, name="webhook-edit"
    ),
    path(
        "integrations/webhooks/<int:pk>/rotate/",
        integration_views.webhook_rotate,
        name="webhook-rotate",
    ),
    path(
        "integrations/webhooks/<int:pk>/delete/",
        integration_views.webhook_delete,
        name="webhook-delete",
    ),
    path("work/import/", integration_views.import_upload, name="import-upload"),
    path("work/import/<int:pk>/", integration_views.import_detail, name="import-detail"),
    path(
        "workflows/<int:pk>/export/items.csv",
        integration_views.export_items,
        name="export-items",
    ),
    path(
        "workflows/<int:pk>/export/events.csv",
        integration_views.export_events,
        name="export-events",
    ),
]
