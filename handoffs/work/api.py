"""/api/v1/ resources of the handoffs app."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from handoffs.work import permissions as item_permissions
from handoffs.work import services, transitions
from handoffs.work.models import Event, WorkItem
from handoffs.workflows.models import Cause, Workflow
from opshub.api import Conflict
from opshub.api_filters import (
    FilterForm,
    IdFilter,
    UpdatedSince,
    filtered,
    schema_parameters,
)

# --- Work items -----------------------------------------------------------------------------


class WorkItemSerializer(serializers.ModelSerializer):
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    team = serializers.IntegerField(source="stage.team_id", read_only=True)

    class Meta:
        model = WorkItem
        fields = [
            "id",
            "workflow",
            "title",
            "stage",
            "stage_name",
            "team",
            "state",
            "assignee",
            "priority",
            "due_date",
            "source",
            "external_ref",
            "requested_at",
            "delivered_at",
            "fields",
            "pending_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WorkItemCreateSerializer(serializers.Serializer):
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.all())
    title = serializers.CharField(max_length=200)
    external_ref = serializers.CharField(max_length=120, required=False, allow_blank=True)
    requested_at = serializers.DateTimeField(required=False, allow_null=True)
    fields = serializers.DictField(required=False)
    priority = serializers.ChoiceField(choices=WorkItem.Priority.choices, default="normal")
    due_date = serializers.DateField(required=False, allow_null=True)


class WorkItemUpdateSerializer(serializers.Serializer):
    """PATCH: only the keys sent change. Protocol fields are checked per field definition."""

    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=WorkItem.Priority.choices, required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="User id of the owner (an active user); null: nobody.",
    )
    external_ref = serializers.CharField(max_length=120, required=False, allow_blank=True)
    fields = serializers.DictField(
        required=False, help_text="{key: value}; null or an empty string clears a field."
    )
    updated_at = serializers.DateTimeField(
        required=False,
        help_text="The item's updated_at as you read it: when the item changed since, the "
        "edit is refused with 409 and nothing changes.",
    )


class HandoffRequestSerializer(serializers.Serializer):
    checklist = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    fields = serializers.DictField(required=False, default=dict)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RecoveryRequestSerializer(serializers.Serializer):
    missing_input = serializers.CharField(max_length=200)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )
    next_check_at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class UnblockRequestSerializer(serializers.Serializer):
    cause = serializers.ChoiceField(choices=Cause.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CancelRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class EventSerializer(serializers.ModelSerializer):
    actor_email = serializers.EmailField(source="actor.email", read_only=True, default=None)
    protocol_version_number = serializers.IntegerField(
        source="protocol_version.number", read_only=True, default=None
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "kind",
            "at",
            "actor",
            "actor_email",
            "from_stage",
            "to_stage",
            "protocol_version",
            "protocol_version_number",
            "payload",
        ]
        read_only_fields = fields


class WorkItemFilters(FilterForm):
    workflow = IdFilter()
    stage = IdFilter()
    state = forms.ChoiceField(choices=WorkItem.State.choices, required=False)
    assignee = IdFilter(help_text="User id of the owner.")
    team = IdFilter(help_text="Items in a stage of this team.")
    updated_since = UpdatedSince()
    lookups = {
        "workflow": "workflow_id",
        "stage": "stage_id",
        "state": "state",
        "assignee": "assignee_id",
        "team": "stage__team_id",
        "updated_since": "updated_at__gte",
    }


# A refused action: {"detail": "Support owns this stage; ask Lena Fischer (lead)."}
REFUSAL = OpenApiResponse(description='{"detail": why the action is refused, in words}')


class CanActOnItem(permissions.BasePermission):
    """Who may act on this item, checked when it is fetched: before the body is validated, so
    an outsider gets 403, not a 400 that teaches them the action's fields. Only the rules that
    do not depend on the item's state live here; accept, reject and unblock depend on it (the
    pending handoff, the open recovery) and are checked by the service under the row lock,
    where two people accepting at once must give one 200 and one 409."""

    rules = {
        "handoff": (item_permissions.can_work_on, "hand it off"),
        "block": (item_permissions.can_work_on, "block it"),
        "deliver": (item_permissions.can_work_on, "deliver it"),
        "cancel": (item_permissions.can_cancel, "cancel it"),
        "partial_update": (item_permissions.can_edit, "edit it"),
    }

    def has_object_permission(self, request, view, item):
        rule, verb = self.rules.get(view.action, (None, ""))
        self.message = f"Only the team working on this item can {verb}."
        return rule is None or rule(request.user, item)


@extend_schema_view(
    list=extend_schema(parameters=schema_parameters(WorkItemFilters)),
    create=extend_schema(request=WorkItemCreateSerializer, responses=WorkItemSerializer),
    partial_update=extend_schema(request=WorkItemUpdateSerializer, responses=WorkItemSerializer),
)
class WorkItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Work items and the actions that move them; every action follows the UI's rules.

    The public action names are the API contract (docs/work-items.md) and differ from the
    code's names in one place: `reject` is `handoff_bounce` (the page's "Bounce"). The others
    are the same act everywhere: `handoff` is `handoff_submit`, `accept` `handoff_accept`.
    """

    serializer_class = WorkItemSerializer
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, CanActOnItem]

    def get_queryset(self):
        items = WorkItem.objects.select_related("stage").visible_to(self.request.user)
        if self.action == "list":
            items = filtered(WorkItemFilters, self.request, items)
        return items

    def create(self, request, *args, **kwargs):
        incoming = WorkItemCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        item = services.work_item_create(
            workflow=data["workflow"],
            title=data["title"],
            by=request.user,
            external_ref=data.get("external_ref", ""),
            requested_at=data.get("requested_at"),
            fields=data.get("fields"),
            priority=data["priority"],
            due_date=data.get("due_date"),
        )
        return Response(WorkItemSerializer(item).data, status=status.HTTP_201_CREATED)

    def _act(self, request, serializer_class, run):
        """Validates the body, runs one service under its row lock, answers with the item."""
        item = self.get_object()
        data = {}
        if serializer_class is not None:
            incoming = serializer_class(data=request.data)
            incoming.is_valid(raise_exception=True)
            data = incoming.validated_data
        try:
            run(item, data)
        except services.StateConflict as exc:
            raise Conflict(str(exc)) from None
        except services.GateError as exc:
            return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        item = WorkItem.objects.select_related("stage").get(pk=item.pk)
        return Response(WorkItemSerializer(item).data)

    @extend_schema(request=HandoffRequestSerializer, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def handoff(self, request, pk=None):
        return self._act(
            request,
            HandoffRequestSerializer,
            lambda item, data: transitions.handoff_submit(
                item=item, by=request.user, expected_stage_id=item.stage_id, **data
            ),
        )

    @extend_schema(request=None, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(
            request, None, lambda item, data: transitions.handoff_accept(item=item, by=request.user)
        )

    @extend_schema(request=RecoveryRequestSerializer, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._act(
            request,
            RecoveryRequestSerializer,
            lambda item, data: transitions.handoff_bounce(item=item, by=request.user, **data),
        )

    @extend_schema(request=RecoveryRequestSerializer, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def block(self, request, pk=None):
        return self._act(
            request,
            RecoveryRequestSerializer,
            lambda item, data: transitions.item_block(item=item, by=request.user, **data),
        )

    @extend_schema(request=UnblockRequestSerializer, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def unblock(self, request, pk=None):
        return self._act(
            request,
            UnblockRequestSerializer,
            lambda item, data: transitions.item_unblock(item=item, by=request.user, **data),
        )

    @extend_schema(request=None, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        return self._act(
            request, None, lambda item, data: transitions.item_deliver(item=item, by=request.user)
        )

    def _offered(self, item, name):
        """Refuses an action the item page would not offer, with the page's own reason
        (`available_actions`): 403 when it is not this person's to take, 409 when the item's
        state does not allow it now."""
        offer = item_permissions.available_actions(
            self.request.user,
            item,
            handoff=item.stage.outgoing_handoff(),
            recovery=item.recoveries.open().first(),
        )[name]
        if offer.allowed:
            return
        if offer.refused_by_rights:
            raise PermissionDenied(offer.why_not)
        raise Conflict(offer.why_not)

    @extend_schema(
        request=None,
        responses={200: WorkItemSerializer, 403: REFUSAL, 409: REFUSAL},
        description="Takes an item nobody owns: a member of the team owning its stage (or an "
        "admin). Refused with the item page's reason: 403 when it is not yours to take, 409 "
        "when someone owns it already or it is closed.",
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        self._offered(self.get_object(), "claim")
        return self._act(
            request, None, lambda item, data: transitions.item_claim(item=item, by=request.user)
        )

    @extend_schema(
        request=None,
        responses={200: WorkItemSerializer, 403: REFUSAL, 409: REFUSAL},
        description="Takes a delivery back within its undo window (10 minutes): the item is "
        "in progress again and a `delivery_undone` event says so. 409 when the window has "
        "closed or the item is not delivered.",
    )
    @action(detail=True, methods=["post"], url_path="undo-delivery")
    def undo_delivery(self, request, pk=None):
        self._offered(self.get_object(), "undo_delivery")
        return self._act(
            request,
            None,
            lambda item, data: transitions.item_deliver_undo(item=item, by=request.user),
        )

    @extend_schema(request=CancelRequestSerializer, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(
            request,
            CancelRequestSerializer,
            lambda item, data: transitions.item_cancel(item=item, by=request.user, **data),
        )

    def partial_update(self, request, *args, **kwargs):
        """Edits the item's details through the same service as its page."""
        self.get_object()  # CanActOnItem: 403 before a 400 on the body
        incoming = WorkItemUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        expected = changes.pop("updated_at", None)
        return self._act(
            request,
            None,
            lambda item, data: services.work_item_update(
                item=item, by=request.user, expected_updated_at=expected, **changes
            ),
        )

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        item = self.get_object()
        events = item.events.select_related("actor", "protocol_version").order_by("at", "pk")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)
