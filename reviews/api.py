"""/api/v1/breakages/ (list, read, log) and /api/v1/action-items/ (list, read, record, update)."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from handoffs.models import Cause, Handoff, Stage, Workflow, WorkItem
from opshub.api_filters import FilterForm, IdFilter, UpdatedSince, filtered, schema_parameters
from reviews import services
from reviews.models import ActionItem, Breakage, Review, week_of


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
            "updated_at",
            "repeat_check_due",
            "outcome",
        ]
        read_only_fields = fields


def _active_users():
    return get_user_model().objects.filter(is_active=True)


class ActionItemCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    owner = serializers.PrimaryKeyRelatedField(queryset=_active_users())
    due_date = serializers.DateField()
    review = serializers.PrimaryKeyRelatedField(
        queryset=Review.objects.all(),
        required=False,
        help_text="The review it was recorded in; this week's review when left out.",
    )
    breakage = serializers.PrimaryKeyRelatedField(
        queryset=Breakage.objects.all(), required=False, allow_null=True
    )
    handoff = serializers.PrimaryKeyRelatedField(
        queryset=Handoff.objects.all(), required=False, allow_null=True
    )
    decision_type = serializers.CharField(max_length=120, required=False, allow_blank=True)


class ActionItemUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=_active_users(), required=False)
    due_date = serializers.DateField(required=False)
    handoff = serializers.PrimaryKeyRelatedField(
        queryset=Handoff.objects.all(), required=False, allow_null=True
    )
    decision_type = serializers.CharField(max_length=120, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, required=False)
    outcome = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="What came of it; required when the status becomes done or dropped.",
    )


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


class BreakageFilters(FilterForm):
    workflow = IdFilter()
    stage = IdFilter()
    kind = forms.ChoiceField(choices=Cause.choices, required=False)
    week = forms.DateField(required=False, help_text="Any date in the week (ISO), e.g. 2026-11-16.")
    updated_since = UpdatedSince(
        help_text="ISO 8601 date-time: breakages logged since (they have no later edits)."
    )
    lookups = {
        "workflow": "workflow_id",
        "stage": "stage_id",
        "kind": "kind",
        "updated_since": "created_at__gte",
    }

    def filter_week(self, breakages, day):
        return breakages.in_week(week_of(day))


class ActionItemFilters(FilterForm):
    workflow = IdFilter(help_text="Action items from breakages of this workflow.")
    status = forms.ChoiceField(choices=ActionItem.Status.choices, required=False)
    owner = IdFilter(help_text="User id.")
    updated_since = UpdatedSince(
        help_text="ISO 8601 date-time: action items created or changed (closed, reopened) since."
    )
    lookups = {
        "workflow": "breakage__workflow_id",
        "status": "status",
        "owner": "owner_id",
        "updated_since": "updated_at__gte",
    }


@extend_schema_view(list=extend_schema(parameters=schema_parameters(BreakageFilters)))
class BreakageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Breakages: what broke, where, which kind. POST logs one (on that week's agenda)."""

    serializer_class = BreakageSerializer

    def get_queryset(self):
        breakages = Breakage.objects.for_list().prefetch_related("action_items__owner")
        if self.action == "list":
            breakages = filtered(BreakageFilters, self.request, breakages)
        return breakages

    def perform_create(self, serializer):
        serializer.instance = services.breakage_log(
            by=self.request.user, **serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(parameters=schema_parameters(ActionItemFilters)),
    create=extend_schema(request=ActionItemCreateSerializer, responses=ActionItemSerializer),
    partial_update=extend_schema(
        request=ActionItemUpdateSerializer, responses=ActionItemSerializer
    ),
)
class ActionItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Action items recorded in breakage reviews: the one small change, its owner and due date.

    POST records one (facilitators, leads and admins); PATCH changes it: its owner may close
    it (`status` done or dropped, with the `outcome`) or reopen it, a facilitator may also
    change what it is, who owns it and when it is due."""

    serializer_class = ActionItemSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        actions = ActionItem.objects.for_list().order_by("due_date", "pk")
        if self.action == "list":
            actions = filtered(ActionItemFilters, self.request, actions)
        return actions

    def create(self, request):
        if not services.can_facilitate(request.user):
            raise PermissionDenied("Only a facilitator, a lead or an admin can record.")
        body = ActionItemCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = services.action_item_record(by=request.user, **body.validated_data)
        return Response(ActionItemSerializer(action).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        action = self.get_object()
        if not services.can_update_action(request.user, action):
            raise PermissionDenied("Only the owner or a facilitator can update this.")
        body = ActionItemUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        action = services.action_item_update(
            action=action, by=request.user, changes=body.validated_data
        )
        return Response(ActionItemSerializer(action).data)
