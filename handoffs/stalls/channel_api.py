"""/api/v1/notification-channels/: chat and push channels of a team or a person.

`{name, url, team | user, events}`; the URL is a secret: the answer to the POST (and to a
PATCH that changes it) shows it once, every other answer gives `masked_url`. A person
manages their own channels; a team's channels are its lead's and the admins'. POST
…/<id>/send-test/ queues one test notice through the channel outbox (202).
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from handoffs.stalls import channels
from handoffs.stalls.models import NotificationChannel
from handoffs.workflows.models import Team


def _checked(clean, value, field):
    """A value through the channel service's own check (the pages use the same one)."""
    try:
        return clean(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict[field]) from None


class ChannelSerializer(serializers.ModelSerializer):
    url = serializers.CharField(
        max_length=2000,
        write_only=True,
        help_text="An Apprise URL, e.g. slack://…, workflows://… (Teams), mmosts://…, json://….",
    )
    masked_url = serializers.CharField(read_only=True)
    service = serializers.CharField(read_only=True)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationChannel.Event.choices),
        allow_empty=False,
        help_text="One or more of: " + ", ".join(NotificationChannel.Event.values) + ".",
    )

    class Meta:
        model = NotificationChannel
        fields = [
            "id", "name", "url", "masked_url", "service", "team", "user", "events",
            "is_active", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "masked_url", "service", "created_at"]

    def validate_url(self, url):
        return _checked(channels.clean_url, url, "url")

    def validate_events(self, events):
        return _checked(channels.clean_events, events, "events")

    def validate(self, data):
        team = data.get("team", getattr(self.instance, "team", None))
        user = data.get("user", getattr(self.instance, "user", None))
        if (team is None) == (user is None):
            raise serializers.ValidationError({"team": "Name either a team or a user, not both."})
        if "events" in data:  # what the channel's kind can hear, as on the pages
            try:
                data["events"] = channels.clean_events(data["events"], personal=user is not None)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None
        return data


class ChannelWithUrlSerializer(ChannelSerializer):
    """The one answer that shows the URL: right after it was set."""

    shown_url = serializers.CharField(source="url", read_only=True, help_text="Shown once.")

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "shown_url"]


class NotificationChannelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Channels you may manage: your own, your team's as its lead, all as an admin."""

    serializer_class = ChannelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        channels = NotificationChannel.objects.select_related("team", "user").order_by("pk")
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return channels.none()
        user = self.request.user
        if user.is_admin:
            return channels
        return channels.filter(Q(user=user) | Q(team__lead=user))

    def _check(self, serializer, instance=None):
        data = serializer.validated_data
        team = data.get("team", getattr(instance, "team", None))
        person = data.get("user", getattr(instance, "user", None))
        if not channels.may_manage(self.request.user, team=team, person=person):
            raise PermissionDenied(channels.MANAGERS_ONLY)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            channel = channels.channel_create(by=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return Response(ChannelWithUrlSerializer(channel).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        channel = self.get_object()
        serializer = self.get_serializer(channel, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        self._check(serializer, channel)
        channel = serializer.save()
        changed_url = "url" in serializer.validated_data
        shown = ChannelWithUrlSerializer if changed_url else ChannelSerializer
        return Response(shown(channel).data)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"], url_path="send-test")
    def send_test(self, request, pk=None):
        """Queues one test notice to this channel; the scheduler page shows how it went."""
        channel = self.get_object()
        delivery = channels.send_test(channel, by=request.user)
        return Response({"delivery": delivery.pk}, status=status.HTTP_202_ACCEPTED)
