"""URLs of workflows, stages, protocols (docs/workflows.md).

Included by handoffs/urls.py under the `handoffs` namespace."""

from django.urls import path

from handoffs.workflows import views

urlpatterns = [
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
    path(
        "protocols/<int:pk>/draft/settings/",
        views.protocol_settings,
        name="protocol-settings",
    ),
    path(
        "protocols/<int:pk>/draft/checklist/",
        views.protocol_checklist,
        name="protocol-checklist",
    ),
    path("protocols/<int:pk>/draft/fields/", views.protocol_field, name="protocol-field"),
    path(
        "protocols/<int:pk>/draft/check/",
        views.protocol_field_check,
        name="protocol-check",
    ),
    path("protocols/<int:pk>/draft/entry/", views.protocol_entry, name="protocol-entry"),
    path(
        "protocols/<int:pk>/draft/problems/",
        views.protocol_problems,
        name="protocol-problems",
    ),
    path(
        "protocols/<int:pk>/draft/publish/",
        views.protocol_publish,
        name="protocol-publish",
    ),
    path(
        "protocols/<int:pk>/draft/discard/",
        views.protocol_discard,
        name="protocol-discard",
    ),
]
