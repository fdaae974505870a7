"""/api/v1/stalls/: open and resolved stall episodes, acknowledge and snooze.

The same model methods as the stall page and the emailed links (StallEpisode.acknowledge,
.snooze, .can_act), and the page's SnoozeForm: one set of rules, three doors.
"""

import datetime

from django import forms
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from handoffs.stalls.models import StallEpisode
from handoffs.stalls.views import SnoozeForm
from opshub.api import Conflict
from opshub.api_filters import FilterForm, IdFilter, filtered, schema_parameters


class StallSerializer(serializers.ModelSerializer):
    item_title = serializers.CharField(source="item.title", read_only=True)
    workflow = serializers.IntegerField(source="item.workflow_id", read_only=True)
    team = serializers.IntegerField(source="item.stage.team_id", read_only=True, allow_null=True)
    state = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField(help_text="Seconds of waiting allowed.")
    stalled_since = serializers.DateTimeField(read_only=True)
    escalation_level = serializers.IntegerField(
        read_only=True,
        help_text="0: the owner holds it; n: the workflow's escalation policy reached level n.",
    )
    escalation_person = serializers.SerializerMethodField(
        help_text="User id of whoever holds it at the current level."
    )
    next_escalate_to = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="User id of the next level's first person; null: none."
    )
    next_check_at = serializers.DateTimeField(
        read_only=True, help_text="When the escalation policy looks at it again; null: never."
    )
    owner_email = serializers.EmailField(source="owner.email", read_only=True, default=None)

    class Meta:
        model = StallEpisode
        fields = [
            "id",
            "item",
            "item_title",
            "workflow",
            "team",
            "kind",
            "state",
            "started_at",
            "target",
            "stalled_since",
            "owner",
            "owner_email",
            "escalate_to",
            "escalation_level",
            "escalation_person",
            "next_escalate_to",
            "next_check_at",
            "alerted_at",
            "escalated_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_until",
            "snoozed_until",
            "snooze_reason",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_state(self, episode) -> str:
        return "open" if episode.is_open else "resolved"

    def get_target(self, episode) -> int:
        return int(episode.target.total_seconds())

    def get_escalation_person(self, episode) -> int | None:
        return episode.escalate_to_id if episode.escalation_level else episode.owner_id


class StallFilters(FilterForm):
    state = forms.ChoiceField(choices=[("open", "open"), ("resolved", "resolved")], required=False)
    kind = forms.ChoiceField(choices=StallEpisode.Kind.choices, required=False)
    workflow = IdFilter()
    team = IdFilter(help_text="The team owning the item's current stage.")
    owner = IdFilter(help_text="User id of the stall's owner.")
    lookups = {
        "kind": "kind",
        "workflow": "item__workflow_id",
        "team": "item__stage__team_id",
        "owner": "owner_id",
    }

    def filter_state(self, episodes, state):
        return episodes.filter(resolved_at__isnull=state == "open")


_SNOOZE_BODY = inline_serializer(
    "StallSnooze",
    {
        "until": serializers.DateTimeField(help_text="ISO 8601; at most 30 days ahead."),
        "reason": serializers.CharField(max_length=200),
    },
)


@extend_schema_view(list=extend_schema(parameters=schema_parameters(StallFilters)))
class StallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stall episodes: a work item waiting longer than its target, from start to resolution.

    `acknowledge` and `snooze` are for the owner, whoever it escalated to, the item's team
    and admins (403 for others); a resolved stall answers 409."""

    serializer_class = StallSerializer

    def get_queryset(self):
        episodes = (
            StallEpisode.objects.for_list()
            .select_related("item__stage")
            .order_by("-started_at", "-pk")
        )
        if self.action == "list":
            episodes = filtered(StallFilters, self.request, episodes)
        return episodes

    def _for_action(self):
        episode = self.get_object()
        if not episode.can_act(self.request.user):
            raise PermissionDenied("Only the owner, the team or its lead can act on this stall.")
        if not episode.is_open:
            raise Conflict("This stall has resolved.")
        return episode

    @extend_schema(request=None, responses=StallSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """No more reminders or escalation for this stall."""
        episode = self._for_action()
        if not episode.acknowledge(by=request.user):
            raise Conflict("This stall was already acknowledged or has resolved.")
        return Response(StallSerializer(self.get_object()).data)

    @extend_schema(request=_SNOOZE_BODY, responses=StallSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        """No reminders or escalation before `until`; everyone who opens it sees `reason`."""
        episode = self._for_action()
        form = SnoozeForm(data=request.data if hasattr(request.data, "get") else {})
        if not form.is_valid():
            raise serializers.ValidationError(
                {name: [str(e) for e in errors] for name, errors in form.errors.items()}
            )
        # In UTC: PostgreSQL refuses the ±16–23 h offsets an ISO string may carry.
        until = form.cleaned_data["until"].astimezone(datetime.UTC)
        episode.snooze(until=until, reason=form.cleaned_data["reason"])
        return Response(StallSerializer(self.get_object()).data)
