"""/api/v1/: one router for every app's resources."""

from rest_framework.routers import DefaultRouter

from handoffs.api import WorkflowViewSet, WorkItemViewSet
from reviews.api import ActionItemViewSet, BreakageViewSet
from scoreboard.api import ScoreboardViewSet

router = DefaultRouter()
router.register("scoreboard", ScoreboardViewSet, basename="scoreboard")
router.register("work-items", WorkItemViewSet, basename="work-item")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("breakages", BreakageViewSet, basename="breakage")
router.register("action-items", ActionItemViewSet, basename="action-item")

urlpatterns = router.urls
