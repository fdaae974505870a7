"""/api/v1/webhook-subscriptions/: outbound webhooks managed by script (admin tokens only).

The secret is returned twice in a subscription's life at most: at creation and at each
rotation. DELETE is a soft delete: the subscription stops, its delivery log stays readable
(GET …/<id>/ and …/<id>/deliveries/), and it can no longer be changed (409).
"""

from django import forms
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from handoffs.integrations import webhooks
from handoffs.integrations.intake_api import IsOpshubAdmin
from handoffs.integrations.models import WebhookDelivery, WebhookSubscription
from opshub.api import Conflict
from opshub.api_filters import FilterForm, FlagFilter, UpdatedSince, filtered, schema_parameters
from opshub.lib import netguard

EVENT_KINDS = [kind for kind, _ in WebhookSubscription.KINDS]


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookSubscription.KINDS),
        allow_empty=False,
        help_text=f"One or more of: {', '.join(EVENT_KINDS)}.",
    )
    secret_hint = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "event_kinds",
            "is_active",
            "secret_hint",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "secret_hint", "created_at", "updated_at", "deleted_at"]

    def validate_url(self, url):
        try:
            webhooks.check_url(url)
        except netguard.TargetRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return url

    def validate_event_kinds(self, kinds):
        return list(dict.fromkeys(kinds))  # each kind once, in the order given


class WebhookSubscriptionSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown this once; store it now.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    delivery_id = serializers.CharField(
        read_only=True, help_text="The X-Opshub-Event-Id header sent (the same on every retry)."
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "delivery_id",
            "event",
            "kind",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields


class WebhookSubscriptionFilters(FilterForm):
    is_active = FlagFilter(help_text="true: active; false: paused (or deleted).")
    event_kind = forms.ChoiceField(
        choices=WebhookSubscription.KINDS, required=False, help_text="Subscribed to this kind."
    )
    deleted = FlagFilter(help_text="true: only deleted subscriptions; absent or false: none.")
    updated_since = UpdatedSince(
        help_text="ISO 8601 date-time: subscriptions created, changed or deleted since."
    )
    lookups = {
        "is_active": "is_active",
        "updated_since": "updated_at__gte",
    }

    def apply(self, subscriptions):
        subscriptions = super().apply(subscriptions)
        return subscriptions.filter(deleted_at__isnull=not self.cleaned_data["deleted"])

    def filter_event_kind(self, subscriptions, kind):
        return subscriptions.filter(event_kinds__contains=[kind])

    def filter_deleted(self, subscriptions, deleted):
        return subscriptions  # applied in apply(): absent means "not deleted" too


class DeliveryFilters(FilterForm):
    status = forms.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
    lookups = {"status": "status"}


@extend_schema_view(
    list=extend_schema(parameters=schema_parameters(WebhookSubscriptionFilters)),
    create=extend_schema(responses={201: WebhookSubscriptionSecretSerializer}),
)
class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Outbound webhook subscriptions (admins only): events POSTed, signed, to a URL."""

    permission_classes = [IsOpshubAdmin]
    serializer_class = WebhookSubscriptionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        subscriptions = WebhookSubscription.objects.order_by("name", "pk")
        if self.action == "list":
            subscriptions = filtered(WebhookSubscriptionFilters, self.request, subscriptions)
        return subscriptions

    def create(self, request, *args, **kwargs):
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        subscription = webhooks.subscription_create(
            name=data["name"],
            url=data["url"],
            event_kinds=data["event_kinds"],
            is_active=data.get("is_active", True),
            by=request.user,
        )
        body = WebhookSubscriptionSecretSerializer(subscription).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        try:
            webhooks.subscription_update(
                subscription=serializer.instance, by=self.request.user, **serializer.validated_data
            )
        except webhooks.SubscriptionDeleted as exc:
            raise Conflict(str(exc)) from None

    def perform_destroy(self, instance):
        webhooks.subscription_delete(subscription=instance, by=self.request.user)

    @extend_schema(request=None, responses=WebhookSubscriptionSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription = self.get_object()
        try:
            webhooks.subscription_rotate_secret(subscription=subscription, by=request.user)
        except webhooks.SubscriptionDeleted as exc:
            raise Conflict(str(exc)) from None
        return Response(WebhookSubscriptionSecretSerializer(subscription).data)

    @extend_schema(
        parameters=schema_parameters(DeliveryFilters),
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        log = filtered(
            DeliveryFilters, request, subscription.deliveries.order_by("-created_at", "-pk")
        )
        page = self.paginate_queryset(log)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
