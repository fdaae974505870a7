"""URLs of intake and outbound webhooks, spreadsheet import and export (docs/integrations.md).

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.integrations import views

urlpatterns = [
    path("integrations/", views.intake_list, name="intake-list"),
    path("integrations/intake/new/", views.intake_create, name="intake-create"),
    path("integrations/intake/<int:pk>/", views.intake_detail, name="intake-detail"),
    path("integrations/intake/<int:pk>/edit/", views.intake_edit, name="intake-edit"),
    path(
        "integrations/intake/<int:pk>/rotate/",
        views.intake_rotate,
        name="intake-rotate",
    ),
    path(
        "integrations/deliveries/<int:pk>/",
        views.intake_delivery,
        name="intake-delivery",
    ),
    path("integrations/webhooks/", views.webhook_list, name="webhook-list"),
    path("integrations/webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("integrations/webhooks/<int:pk>/test/", views.webhook_test, name="webhook-test"),
    path(
        "integrations/webhooks/<int:pk>/toggle/",
        views.webhook_toggle,
        name="webhook-toggle",
    ),
    path("integrations/webhooks/<int:pk>/edit/", views.webhook_edit, name="webhook-edit"),
    path(
        "integrations/webhooks/<int:pk>/rotate/",
        views.webhook_rotate,
        name="webhook-rotate",
    ),
    path(
        "integrations/webhooks/<int:pk>/delete/",
        views.webhook_delete,
        name="webhook-delete",
    ),
    path("work/import/", views.import_upload, name="import-upload"),
    path("work/import/<int:pk>/", views.import_detail, name="import-detail"),
    path(
        "workflows/<int:pk>/export/items.csv",
        views.export_items,
        name="export-items",
    ),
    path(
        "workflows/<int:pk>/export/events.csv",
        views.export_events,
        name="export-events",
    ),
]
