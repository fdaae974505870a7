"""/api/v1/: one router for every app's resources."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from handoffs.api import WorkflowViewSet, WorkItemViewSet
from handoffs.decision_api import DecisionViewSet
from handoffs.intake_api import IntakeSourceViewSet, IntakeWebhookView
from handoffs.stall_api import StallViewSet
from handoffs.webhook_api import WebhookSubscriptionViewSet
from opshub.api import api_not_found
from reviews.api import ActionItemViewSet, BreakageViewSet
from scoreboard.api import ScoreboardViewSet

# No `.json` suffix routes: JSON is the only format, and custom actions and list views
# written without a `format` argument answered 500 to them (tests/test_permissions_matrix.py).
router = DefaultRouter()
router.include_format_suffixes = False
router.register("work-items", WorkItemViewSet, basename="work-item")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("decisions", DecisionViewSet, basename="decision")
router.register("stalls", StallViewSet, basename="stall")
router.register("breakages", BreakageViewSet, basename="breakage")
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("intake-sources", IntakeSourceViewSet, basename="intake-source")
router.register(
    "webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription"
)
router.register("scoreboard", ScoreboardViewSet, basename="scoreboard")

urlpatterns = router.urls + [
    path("intake/<slug:source>/", IntakeWebhookView.as_view(), name="intake"),
    # Last: an unknown /api/v1/ URL answers JSON, not the HTML 404 page.
    re_path(r"^.*$", api_not_found),
]
