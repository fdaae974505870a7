"""/api/v1/intake/<source>/ (signed webhooks) and /api/v1/intake-sources/ (admin tokens)."""

from django import forms
from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, permissions, serializers, status, throttling, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from handoffs.integrations import intake
from handoffs.integrations.models import IntakeDelivery, IntakeSource
from handoffs.workflows.models import Stage, Workflow
from opshub.accounts.models import AuditEntry
from opshub.api_filters import (
    FilterForm,
    FlagFilter,
    IdFilter,
    UpdatedSince,
    filtered,
    schema_parameters,
)
from opshub.lib.cache import count_in_window
from opshub.lib.ids import parse_int


class IsOpshubAdmin(permissions.BasePermission):
    message = "Only admins manage integrations."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


class IntakeSourceSerializer(serializers.ModelSerializer):
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.all())
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    mapping = serializers.JSONField(
        help_text='{"title": "deal.name", "external_ref": "deal.id", '
        '"requested_at": "deal.closed_at", "fields": {"po_number": "deal.po"}}'
    )
    secret_hint = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = IntakeSource
        fields = [
            "id",
            "name",
            "slug",
            "url",
            "workflow",
            "stage",
            "assignee",
            "mapping",
            "event_id_path",
            "is_active",
            "secret_hint",
            "created_at",
        ]
        read_only_fields = ["id", "url", "secret_hint", "created_at"]

    def get_url(self, source) -> str:
        return f"/api/v1/intake/{source.slug}/"

    def validate(self, attrs):
        workflow = attrs.get("workflow") or getattr(self.instance, "workflow", None)
        stage = attrs.get("stage") or getattr(self.instance, "stage", None)
        if stage is not None and workflow is not None and stage.workflow_id != workflow.pk:
            raise serializers.ValidationError({"stage": "That stage belongs to another workflow."})
        mapping = attrs.get("mapping", getattr(self.instance, "mapping", None))
        if workflow is not None:
            errors = intake.validate_mapping(mapping, workflow)
            if errors:
                raise serializers.ValidationError({"mapping": errors})
        return attrs


class IntakeSourceCreatedSerializer(IntakeSourceSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown this once; store it now.")

    class Meta(IntakeSourceSerializer.Meta):
        fields = [*IntakeSourceSerializer.Meta.fields, "secret"]


class IntakeDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = IntakeDelivery
        fields = [
            "id",
            "received_at",
            "event_id",
            "status",
            "http_status",
            "reason",
            "payload",
            "headers",
            "item",
        ]
        read_only_fields = fields


class IntakeSourceFilters(FilterForm):
    workflow = IdFilter()
    stage = IdFilter()
    is_active = FlagFilter()
    updated_since = UpdatedSince(
        help_text="ISO 8601 date-time: sources created or changed (or secret rotated) since."
    )
    lookups = {
        "workflow": "workflow_id",
        "stage": "stage_id",
        "is_active": "is_active",
        "updated_since": "updated_at__gte",
    }


class DeliveryFilters(FilterForm):
    status = forms.ChoiceField(choices=IntakeDelivery.Status.choices, required=False)
    lookups = {"status": "status"}


@extend_schema_view(list=extend_schema(parameters=schema_parameters(IntakeSourceFilters)))
class IntakeSourceViewSet(viewsets.ModelViewSet):
    """Intake sources (admins only). The secret is returned once: at creation or rotation."""

    permission_classes = [IsOpshubAdmin]
    serializer_class = IntakeSourceSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        sources = IntakeSource.objects.order_by("name", "pk")
        if self.action == "list":
            sources = filtered(IntakeSourceFilters, self.request, sources)
        return sources

    @extend_schema(responses={201: IntakeSourceCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = intake.source_create(
            source=IntakeSource(**serializer.validated_data), by=request.user
        )
        data = IntakeSourceCreatedSerializer(source).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=IntakeSourceCreatedSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        source = intake.source_rotate_secret(source=self.get_object(), by=request.user)
        return Response(IntakeSourceCreatedSerializer(source).data)

    def perform_update(self, serializer):
        before = intake.audited(serializer.instance)
        source = serializer.save()
        intake.source_audit(
            source=source, by=self.request.user, action=AuditEntry.Action.UPDATE, before=before
        )

    def perform_destroy(self, instance):
        before = intake.audited(instance)
        intake.source_audit(
            source=instance, by=self.request.user, action=AuditEntry.Action.DELETE, before=before
        )
        instance.delete()

    @extend_schema(
        parameters=schema_parameters(DeliveryFilters),
        responses=IntakeDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        source = self.get_object()
        log = filtered(DeliveryFilters, request, source.deliveries.order_by("-received_at", "-pk"))
        page = self.paginate_queryset(log)
        return self.get_paginated_response(IntakeDeliverySerializer(page, many=True).data)


_outcome = inline_serializer(
    "IntakeOutcome",
    {
        "status": serializers.ChoiceField(choices=["accepted", "duplicate"]),
        "item": serializers.IntegerField(),
    },
)
_refusal = inline_serializer(
    "IntakeRefusal",
    {
        "detail": serializers.CharField(),
        "missing": serializers.ListField(child=serializers.CharField(), required=False),
        "errors": serializers.DictField(child=serializers.CharField(), required=False),
    },
)


class IntakeSourceThrottle(throttling.BaseThrottle):
    """OPSHUB_INTAKE_RATE_LIMIT deliveries per source slug and window, counted in Redis (so
    across every web process). Checked before the source is looked up or the signature
    verified: a flood costs one Redis round trip per request, no query and no log row."""

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        limit, seconds = settings.OPSHUB_INTAKE_RATE_LIMIT
        count, self.wait_seconds = count_in_window(f"intake-rate:{view.kwargs['source']}", seconds)
        # Redis down: let it through. The signature and the event id still guard the endpoint,
        # and refusing a CRM's orders would lose them; /healthz reports Redis as down.
        return count is None or count <= limit

    def wait(self):
        return self.wait_seconds


class IntakeWebhookView(APIView):
    """A signed webhook: the signature is the authentication, so no session and no CSRF."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [IntakeSourceThrottle]

    def throttled(self, request, wait):
        raise exceptions.Throttled(
            wait, detail="Too many deliveries for this source; nothing was created."
        )

    @extend_schema(
        operation_id="intake_receive",
        summary="Receive a signed webhook from an intake source",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("X-Opshub-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                "X-Opshub-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='"sha256=" + hex HMAC-SHA256 of "<timestamp>.<raw body>"',
            ),
            OpenApiParameter(
                "X-Opshub-Event-Id",
                str,
                OpenApiParameter.HEADER,
                description="Not signed: the same signed timestamp and body is a replay "
                "whatever event id comes with it.",
            ),
        ],
        responses={
            201: _outcome,
            200: _outcome,
            400: OpenApiResponse(
                _refusal,
                description="Not strict JSON (NaN/Infinity, NUL, a lone surrogate, nesting "
                "over 64 levels), or the payload cannot be mapped.",
            ),
            401: _refusal,
            404: OpenApiResponse(_refusal, description="No active source with this slug."),
            413: _refusal,
            429: OpenApiResponse(
                _refusal, description="Over the source's rate limit; see Retry-After."
            ),
        },
    )
    def post(self, request, source):
        source = get_object_or_404(
            IntakeSource.objects.select_related("stage__team", "workflow"),
            slug=source,
            is_active=True,
        )
        length = parse_int(request.META.get("CONTENT_LENGTH") or "0", min=0)
        if length is None or length > intake.MAX_BODY_BYTES:
            reason = intake.log_oversized(source=source, headers=request.headers)
            return Response({"detail": reason}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        outcome = intake.intake_receive(source=source, headers=request.headers, body=request.body)
        return Response(outcome.body, status=outcome.http_status)
