"""/api/v1/ resources of the handoffs app."""

import datetime

from django.db import transaction
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings

from handoffs.workflows import services as wf
from handoffs.workflows.models import ProtocolVersion, Stage, Team, Workflow
from opshub.api_filters import (
    FilterForm,
    FlagFilter,
    IdFilter,
    UpdatedSince,
    filtered,
    schema_parameters,
)

# --- Workflows ---------------------------------------------------------------------------------


def _seconds(delta):
    return int(delta.total_seconds()) if delta is not None else None


class ProtocolVersionSerializer(serializers.ModelSerializer):
    acceptance_target_seconds = serializers.SerializerMethodField()
    escalation_delay_seconds = serializers.SerializerMethodField()
    recovery_check_delay_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ProtocolVersion
        fields = [
            "id",
            "number",
            "status",
            "published_at",
            "published_by",
            "checklist",
            "fields",
            "receiving_team",
            "default_assignee",
            "acceptance_target_seconds",
            "escalation_delay_seconds",
            "recovery_owner",
            "recovery_check_delay_seconds",
            "ready_answer",
            "missing_answer",
            "change_note",
        ]
        read_only_fields = fields

    def get_acceptance_target_seconds(self, version) -> int:
        return _seconds(version.acceptance_target)

    def get_escalation_delay_seconds(self, version) -> int:
        return _seconds(version.effective_escalation_delay)

    def get_recovery_check_delay_seconds(self, version) -> int:
        return _seconds(version.recovery_check_delay)


class StageSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    target_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Stage
        fields = ["id", "name", "position", "team", "team_name", "kind", "target_seconds"]
        read_only_fields = fields

    def get_target_seconds(self, stage) -> int | None:
        return _seconds(stage.target)


class HandoffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_stage = serializers.IntegerField(source="from_stage_id")
    to_stage = serializers.IntegerField(source="to_stage.pk")
    is_collision_zone = serializers.BooleanField()
    protocol = ProtocolVersionSerializer(source="current", allow_null=True)


class WorkflowSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)
    handoffs = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "is_sandbox",
            "created_at",
            "updated_at",
            "stages",
            "handoffs",
        ]
        read_only_fields = fields

    @extend_schema_field(HandoffSerializer(many=True))
    def get_handoffs(self, workflow):
        return HandoffSerializer(wf.link_stages(workflow), many=True).data


class StageInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    kind = serializers.ChoiceField(choices=Stage.Kind.choices, default=Stage.Kind.ACTIVE)
    target_seconds = serializers.IntegerField(min_value=60, required=False, allow_null=True)


class WorkflowWriteSerializer(serializers.ModelSerializer):
    stages = StageInputSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = Workflow
        fields = ["name", "description", "is_sandbox", "stages"]

    def validate_stages(self, stages):
        if self.instance is not None:
            raise serializers.ValidationError(
                "Stages of an existing workflow are changed one at a time in the editor."
            )
        names = [s["name"].strip().lower() for s in stages]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("Two stages share a name.")
        return stages


class WorkflowFilters(FilterForm):
    is_sandbox = FlagFilter(help_text="true: only sandboxes; false: only real workflows.")
    team = IdFilter(help_text="Workflows with a stage of this team.")
    updated_since = UpdatedSince(
        help_text="ISO 8601 date-time: workflows whose name, description or stages changed since."
    )
    lookups = {
        "is_sandbox": "is_sandbox",
        "updated_since": "updated_at__gte",
    }

    def filter_team(self, workflows, team):
        return workflows.filter(pk__in=Stage.objects.filter(team_id=team).values("workflow_id"))


class CanEditWorkflow(permissions.BasePermission):
    """Creating needs a lead or admin; changing one, an editor of that workflow. Checked
    before the body is validated (403 before 400)."""

    def has_permission(self, request, view):
        self.message = "Only leads and admins can create workflows."
        return view.action != "create" or request.user.can_create_workflows

    def has_object_permission(self, request, view, workflow):
        self.message = "Only leads of the teams in this workflow and admins can change it."
        return request.method in permissions.SAFE_METHODS or workflow.can_edit(request.user)


@extend_schema_view(
    list=extend_schema(parameters=schema_parameters(WorkflowFilters)),
    create=extend_schema(request=WorkflowWriteSerializer, responses=WorkflowSerializer),
    update=extend_schema(request=WorkflowWriteSerializer, responses=WorkflowSerializer),
    partial_update=extend_schema(request=WorkflowWriteSerializer, responses=WorkflowSerializer),
)
class WorkflowViewSet(viewsets.ModelViewSet):
    """Workflows with their stages and each handoff's enforced protocol (read: everyone;
    write: leads and admins; changing one: leads of its teams and admins)."""

    serializer_class = WorkflowSerializer
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, CanEditWorkflow]

    def get_queryset(self):
        workflows = Workflow.objects.order_by("name", "pk")
        if self.action == "list":
            workflows = filtered(WorkflowFilters, self.request, workflows)
        return wf.with_structure(workflows)

    def _reloaded(self, workflow):
        return WorkflowSerializer(self.get_queryset().get(pk=workflow.pk)).data

    @transaction.atomic
    def create(self, request, *args, **kwargs):
        serializer = WorkflowWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stages = serializer.validated_data.pop("stages", [])
        workflow = wf.workflow_create(by=request.user, **serializer.validated_data)
        for stage in stages:
            target = stage.pop("target_seconds", None)
            wf.stage_add(
                workflow=workflow,
                by=request.user,
                target=datetime.timedelta(seconds=target) if target else None,
                **stage,
            )
        return Response(self._reloaded(workflow), status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        workflow = self.get_object()
        serializer = WorkflowWriteSerializer(workflow, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        wf.workflow_update(workflow=workflow, by=request.user, **serializer.validated_data)
        return Response(self._reloaded(workflow))

    def destroy(self, request, *args, **kwargs):
        wf.workflow_delete(workflow=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
