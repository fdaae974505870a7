"""/api/v1/decisions/: record a decision on a work item, list them, approve or deny red ones."""

from django import forms
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from handoffs.decisions import services as decision_services
from handoffs.decisions.models import Decision, DecisionLevel, DecisionType
from handoffs.work import services
from handoffs.work.models import WorkItem
from opshub.api import Conflict
from opshub.api_filters import (
    FilterForm,
    FlagFilter,
    IdFilter,
    UpdatedSince,
    filtered,
    schema_parameters,
)
from opshub.lib.ids import parse_id


class DecisionSerializer(serializers.ModelSerializer):
    work_item = serializers.PrimaryKeyRelatedField(source="item", read_only=True)
    decision_type_key = serializers.CharField(source="decision_type.key", read_only=True)
    workflow = serializers.IntegerField(source="item.workflow_id", read_only=True)
    informed = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    waited_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = [
            "id",
            "work_item",
            "workflow",
            "decision_type",
            "decision_type_key",
            "requester",
            "role",
            "level",
            "matrix_version",
            "summary",
            "why",
            "payload",
            "status",
            "informed",
            "approver",
            "requested_at",
            "decided_by",
            "decided_at",
            "comment",
            "consumed_at",
            "waited_seconds",
        ]
        read_only_fields = fields

    def get_waited_seconds(self, decision) -> int | None:
        waited = decision.waited
        return int(waited.total_seconds()) if waited is not None else None


class DecisionCreateSerializer(serializers.Serializer):
    work_item = serializers.PrimaryKeyRelatedField(queryset=WorkItem.objects.all())
    decision_type = serializers.CharField(
        help_text="The decision type's id, or its key in the item's workflow "
        "(e.g. override_checklist, change_due_date)."
    )
    summary = serializers.CharField(max_length=300)
    why = serializers.CharField(required=False, allow_blank=True, default="")
    payload = serializers.DictField(required=False, default=dict)

    def validate(self, data):
        item, raw = data["work_item"], data["decision_type"]
        DecisionType.objects.ensure_builtins(item.workflow)
        types = DecisionType.objects.for_workflow(item.workflow)
        pk = parse_id(raw)
        found = types.filter(pk=pk) if pk else types.filter(key=raw)
        if not found.exists():
            raise ApiValidationError({"decision_type": "No such decision type in this workflow."})
        data["decision_type"] = found.get()
        return data


class DecisionAnswerSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DecisionFilters(FilterForm):
    workflow = IdFilter(help_text="Decisions on items of this workflow.")
    work_item = IdFilter()
    status = forms.ChoiceField(choices=Decision.Status.choices, required=False)
    level = forms.ChoiceField(choices=DecisionLevel.choices, required=False)
    decision_type = forms.CharField(required=False, max_length=60, help_text="Id or key.")
    awaiting_me = FlagFilter(help_text="true: red requests the caller may answer.")
    updated_since = UpdatedSince(
        help_text="ISO 8601 date-time: decisions requested, answered or consumed since."
    )
    lookups = {
        "workflow": "item__workflow_id",
        "work_item": "item_id",
        "status": "status",
        "level": "level",
    }

    def filter_decision_type(self, decisions, raw):
        pk = parse_id(raw)
        if pk:
            return decisions.filter(decision_type_id=pk)
        return decisions.filter(decision_type__key=raw)

    def filter_awaiting_me(self, decisions, on):
        return decisions & Decision.objects.awaiting(self.user) if on else decisions

    def filter_updated_since(self, decisions, since):
        """Decisions have no updated_at: one changes when requested, answered or consumed."""
        return decisions.filter(
            Q(requested_at__gte=since) | Q(decided_at__gte=since) | Q(consumed_at__gte=since)
        )


class CanAnswerDecision(permissions.BasePermission):
    """Approve and deny are for the named approver or an admin, never the requester: checked
    when the decision is fetched, so anyone else gets 403 whatever its status (the service
    then answers 409 to the approver when it was answered already)."""

    def has_object_permission(self, request, view, decision):
        if view.action not in ("approve", "deny"):
            return True
        if request.user.pk == decision.requester_id:
            self.message = "Nobody approves their own request."
            return False
        self.message = "Only the named approver or an admin answers this request."
        return request.user.pk == decision.approver_id or request.user.is_admin


@extend_schema_view(list=extend_schema(parameters=schema_parameters(DecisionFilters)))
class DecisionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Decisions on work items. The server finds the caller's level (green, yellow or red)
    and acts on it: red ones pause the item until the approver answers."""

    serializer_class = DecisionSerializer
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, CanAnswerDecision]

    def get_queryset(self):
        decisions = Decision.objects.select_related("decision_type", "item").prefetch_related(
            "informed"
        )
        if self.action != "list":
            return decisions
        return filtered(DecisionFilters, self.request, decisions)

    @extend_schema(request=DecisionCreateSerializer, responses={201: DecisionSerializer})
    def create(self, request, *args, **kwargs):
        incoming = DecisionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            decision = decision_services.decision_record(
                item=data["work_item"],
                by=request.user,
                decision_type=data["decision_type"],
                summary=data["summary"],
                why=data["why"],
                payload=data["payload"],
            )
        except services.StateConflict as exc:
            raise Conflict(str(exc)) from None
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    def _answer(self, request, service):
        decision = self.get_object()
        incoming = DecisionAnswerSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            decision = service(
                decision=decision, by=request.user, comment=incoming.validated_data["comment"]
            )
        except services.StateConflict as exc:
            raise Conflict(str(exc)) from None
        return Response(DecisionSerializer(decision).data)

    @extend_schema(request=DecisionAnswerSerializer, responses=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._answer(request, decision_services.decision_approve)

    @extend_schema(request=DecisionAnswerSerializer, responses=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._answer(request, decision_services.decision_deny)
