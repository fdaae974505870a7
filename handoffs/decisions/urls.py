"""URLs of decision rights, decisions and in-app notifications (docs/decision-rights.md).

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.decisions import views

urlpatterns = [
    path("workflows/<int:pk>/decisions/", views.matrix, name="decision-matrix"),
    path("workflows/<int:pk>/decisions/print/", views.matrix_print, name="decision-print"),
    path("workflows/<int:pk>/decisions/cell/", views.matrix_cell, name="decision-cell"),
    path("workflows/<int:pk>/decisions/log/", views.decision_log, name="decision-log"),
    path(
        "workflows/<int:pk>/decisions/types/new/",
        views.type_create,
        name="decision-type-create",
    ),
    path(
        "workflows/<int:pk>/decisions/types/<int:type_pk>/",
        views.type_edit,
        name="decision-type-edit",
    ),
    path(
        "workflows/<int:pk>/decisions/types/<int:type_pk>/<str:role>/",
        views.right_edit,
        name="decision-right-edit",
    ),
    path("work/<int:pk>/decisions/", views.decision_record, name="decision-create"),
    path("decisions/<int:pk>/answer/", views.decision_answer, name="decision-answer"),
    path(
        "decisions/<int:pk>/answer/email/",
        views.decision_email_answer,
        name="decision-email-answer",
    ),
    path("notifications/", views.notification_list, name="notification-list"),
    path(
        "notifications/<int:pk>/read/",
        views.notification_read,
        name="notification-read",
    ),
    path(
        "notifications/read-all/",
        views.notification_read_all,
        name="notification-read-all",
    ),
    path(
        "notifications/email/",
        views.notification_preference,
        name="notification-preference",
    ),
]
