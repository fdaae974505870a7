"""/api/v1/: one router for every app's resources.

The features are named by dotted string, so the shell imports none of them (the layers in
pyproject.toml, [tool.importlinter]); a feature adds a resource by adding a row here."""

from django.urls import path, re_path
from django.utils.module_loading import import_string
from rest_framework.routers import DefaultRouter

from opshub.api import api_not_found

RESOURCES = [
    ("work-items", "handoffs.work.api.WorkItemViewSet", "work-item"),
    ("workflows", "handoffs.workflows.api.WorkflowViewSet", "workflow"),
    ("decisions", "handoffs.decisions.api.DecisionViewSet", "decision"),
    ("stalls", "handoffs.stalls.api.StallViewSet", "stall"),
    (
        "notification-channels",
        "handoffs.stalls.channel_api.NotificationChannelViewSet",
        "notification-channel",
    ),
    ("breakages", "reviews.api.BreakageViewSet", "breakage"),
    ("action-items", "reviews.api.ActionItemViewSet", "action-item"),
    ("intake-sources", "handoffs.integrations.intake_api.IntakeSourceViewSet", "intake-source"),
    (
        "webhook-subscriptions",
        "handoffs.integrations.webhook_api.WebhookSubscriptionViewSet",
        "webhook-subscription",
    ),
    ("teams", "handoffs.people.api.TeamViewSet", "team"),
    ("users", "handoffs.people.api.UserViewSet", "user"),
    ("scoreboard", "scoreboard.api.ScoreboardViewSet", "scoreboard"),
    ("baselines", "scoreboard.discovery.api.BaselineViewSet", "baseline"),
]
INTAKE_VIEW = "handoffs.integrations.intake_api.IntakeWebhookView"

# Views under a resource's prefix, placed before the router's routes (the
# forecasts: scoreboard/forecasting/api.py; the item's read rule is the resource's own; a
# workflow's escalation policy: handoffs/stalls/policy.py).
VIEWS = [
    (
        "work-items/<str:pk>/forecast/",
        "scoreboard.forecasting.api.ItemForecastView",
        "work-item-forecast",
    ),
    (
        "workflows/<str:pk>/escalation-policy/",
        "handoffs.stalls.policy.EscalationPolicyView",
        "workflow-escalation-policy",
    ),
    (
        "scoreboard/forecast/",
        "scoreboard.forecasting.api.WorkflowForecastView",
        "scoreboard-forecast",
    ),
]

# No `.json` suffix routes: JSON is the only format, and custom actions and list views
# written without a `format` argument answered 500 to them (tests/test_permissions_matrix.py).
router = DefaultRouter()
router.include_format_suffixes = False
for prefix, viewset, basename in RESOURCES:
    router.register(prefix, import_string(viewset), basename=basename)

urlpatterns = (
    [path(route, import_string(view).as_view(), name=name) for route, view, name in VIEWS]
    + router.urls
    + [
        path("intake/<slug:source>/", import_string(INTAKE_VIEW).as_view(), name="intake"),
        # Last: an unknown /api/v1/ URL answers JSON, not the HTML 404 page.
        re_path(r"^.*$", api_not_found),
    ]
)
