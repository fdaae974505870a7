"""URLs of intake and outbound webhooks, spreadsheet import and export (docs/integrations.md).

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.integrations import views

urlpatterns = [
    path("integrations/", views.source_list, name="intake-list"),
    path("integrations/intake/new/", views.source_create, name="intake-create"),
    path("integrations/intake/<int:pk>/", views.source_detail, name="intake-detail"),
    path("integrations/intake/<int:pk>/edit/", views.source_update, name="intake-edit"),
    path(
        "integrations/intake/<int:pk>/rotate/",
        views.source_rotate_secret,
        name="intake-rotate",
    ),
    path(
        "integrations/deliveries/<int:pk>/",
        views.delivery_detail,
        name="intake-delivery",
    ),
    path("integrations/webhooks/", views.subscription_list, name="webhook-list"),
    path("integrations/webhooks/<int:pk>/", views.subscription_detail, name="webhook-detail"),
    path("integrations/webhooks/<int:pk>/test/", views.subscription_send_test, name="webhook-test"),
    path(
        "integrations/webhooks/<int:pk>/toggle/",
        views.subscription_toggle,
        name="webhook-toggle",
    ),
    path("integrations/webhooks/<int:pk>/edit/", views.subscription_update, name="webhook-edit"),
    path(
        "integrations/webhooks/<int:pk>/rotate/",
        views.subscription_rotate_secret,
        name="webhook-rotate",
    ),
    path(
        "integrations/webhooks/<int:pk>/delete/",
        views.subscription_delete,
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
