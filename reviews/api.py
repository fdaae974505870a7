"""/api/v1/breakages/ (list, read, log) and /api/v1/action-items/ (read-only)."""

import datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError as ApiValidationError

from handoffs.models import Handoff, Stage, Workflow, WorkItem
from reviews import services
from reviews.models import ActionItem, Breakage, week_of


class CanWriteOrReadOnly(permissions.BasePermission):
    message = "Viewers have read-only access."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or request.user.can_write


class ActionItemSerializer(serializers.ModelSerializer):
    owner_email = serializers.EmailField(source="owner.email", read_only=True)

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "owner",
            "owner_email",
            "due_date",
            "status",
            "review",
            "breakage",
            "handoff",
            "protocol_version",
            "decision_type",
            "created_at",
            "closed_at",
            "repeat_check_due",
        ]
        read_only_fields = fields


class BreakageSerializer(serializers.ModelSerializer):
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.all())
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, allow_null=True
    )
    handoff = serializers.PrimaryKeyRelatedField(
        queryset=Handoff.objects.all(), required=False, allow_null=True
    )
    items = serializers.PrimaryKeyRelatedField(
        queryset=WorkItem.objects.all(), many=True, required=False
    )
    action_items = ActionItemSerializer(many=True, read_only=True)

    class Meta:
        model = Breakage
        fields = [
            "id",
            "title",
            "description",
            "workflow",
            "stage",
            "handoff",
            "kind",
            "system_factor",
            "items",
            "reporter",
            "cost_days",
            "source",
            "occurred_at",
            "week",
            "created_at",
            "action_items",
        ]
        read_only_fields = ["reporter", "cost_days", "source", "week", "created_at"]
        extra_kwargs = {"occurred_at": {"required": False}}


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("week", str, description="Any date in the week (ISO).")]
    )
)
class BreakageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Breakages: what broke, where, which kind. POST logs one (on that week's agenda)."""

    serializer_class = BreakageSerializer
    permission_classes = [permissions.IsAuthenticated, CanWriteOrReadOnly]

    def get_queryset(self):
        qs = Breakage.objects.for_list().prefetch_related("action_items__owner")
        week = self.request.query_params.get("week")
        if week:
            try:
                qs = qs.in_week(week_of(datetime.date.fromisoformat(week)))
            except ValueError:
                raise ApiValidationError({"week": "Use an ISO date, e.g. 2026-11-16."}) from None
        return qs

    def perform_create(self, serializer):
        serializer.instance = services.breakage_log(
            by=self.request.user, **serializer.validated_data
        )


class ActionItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Action items recorded in breakage reviews: the one small change, its owner and due date."""

    serializer_class = ActionItemSerializer
    queryset = ActionItem.objects.for_list().order_by("due_date", "pk")
