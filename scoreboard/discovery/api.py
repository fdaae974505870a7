"""GET /api/v1/baselines/ and /api/v1/baselines/<id>/discovery/: uploaded logs and their maps,
in the shape `manage.py discover_map --json` prints (docs/discovery.md)."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from scoreboard.discovery.models import Baseline


class BaselineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Baseline
        fields = ["id", "name", "format", "created_at", "cases", "events", "team_of", "workflow"]
        read_only_fields = fields


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The activity, resource or team handing on.")
    to = serializers.CharField()
    count = serializers.IntegerField()
    median_wait_seconds = serializers.FloatField()
    p85_wait_seconds = serializers.FloatField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("source")
        return fields


class VariantSerializer(serializers.Serializer):
    activities = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()
    share = serializers.FloatField()


class DiscoverySerializer(serializers.Serializer):
    cases = serializers.IntegerField()
    events = serializers.IntegerField()
    dfg = EdgeSerializer(many=True, help_text="Directly-follows counts (pm4py.discover_dfg).")
    start = serializers.DictField(child=serializers.IntegerField())
    end = serializers.DictField(child=serializers.IntegerField())
    handover = EdgeSerializer(
        many=True, help_text="Resource handovers (pm4py handover of work, beta=0)."
    )
    team_handover = EdgeSerializer(many=True, required=False, help_text="When teams are known.")
    variant_count = serializers.IntegerField()
    variants = VariantSerializer(many=True, help_text="The 100 most frequent.")
    main_path = serializers.ListField(child=serializers.CharField())


class BaselineViewSet(viewsets.ReadOnlyModelViewSet):
    """Event logs uploaded on the discovery page (leads and admins)."""

    serializer_class = BaselineSerializer
    queryset = Baseline.objects.none()  # the schema's id type; requests use get_queryset

    def get_queryset(self):
        if not self.request.user.can_create_workflows:
            raise PermissionDenied("Only leads and admins read discovered maps.")
        baselines = Baseline.objects.visible_to(self.request.user)
        return baselines if self.action == "discovery" else baselines.listed()

    @extend_schema(responses={200: DiscoverySerializer})
    @action(detail=True, methods=["get"])
    def discovery(self, request, pk=None):
        return Response(self.get_object().discovery)
