"""Editing a workflow's escalation policy: the workflow page's form and
/api/v1/workflows/<id>/escalation-policy/ (docs/stalls.md, "Escalation policy").

Both doors validate with the same formset (handoffs.workflows.forms) and save with
save_policy, which also asks the scan to look at the workflow's open stalls again, so the
new levels apply from the next scan, not from each stall's old next check.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.generics import get_object_or_404 as api_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from handoffs.stalls.models import StallEpisode
from handoffs.workflows.forms import escalation_formset, policy_context
from handoffs.workflows.models import Workflow
from handoffs.workflows.policies import DEFAULT_RULE, MAX_LEVELS, EscalationLevel, levels_of
from opshub.lib.ids import parse_id


@transaction.atomic
def save_policy(workflow, levels):
    """Replaces the workflow's levels (an empty list: back to the default policy)."""
    workflow.escalation_levels.all().delete()
    EscalationLevel.objects.bulk_create(
        EscalationLevel(workflow=workflow, position=position, **level)
        for position, level in enumerate(levels, start=1)
    )
    StallEpisode.objects.open().filter(item__workflow=workflow).update(next_check_at=timezone.now())


# --- The workflow page's form ----------------------------------------------------------------


@login_required
@require_POST
def policy_edit(request, pk):
    """Saves the policy form; answers the page's policy section (400 with the errors)."""
    workflow = get_object_or_404(Workflow, pk=pk)
    if not workflow.can_edit(request.user):
        raise PermissionDenied("Only leads of the teams in this workflow and admins can change it.")
    formset = escalation_formset(workflow, request.POST)
    status, notice = 400, None
    if formset.is_valid():
        save_policy(workflow, formset.levels())
        formset, status = escalation_formset(workflow), 200
        notice = "Escalation policy saved: open stalls follow it from the next scan."
    return render(
        request,
        "handoffs/workflow_detail.html#escalation",
        policy_context(workflow, request.user, formset=formset, policy_notice=notice),
        status=status,
    )


# --- The API ---------------------------------------------------------------------------------


class LevelSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=EscalationLevel.Kind.choices)
    person = serializers.IntegerField(source="person_id", allow_null=True, required=False)
    person_name = serializers.SerializerMethodField()
    delay_hours = serializers.FloatField(help_text="Working hours after the item stalled.")
    repeat_hours = serializers.FloatField(
        allow_null=True, required=False, help_text="Told again every this many working hours."
    )

    def get_person_name(self, level) -> str | None:
        return str(level.person) if level.person_id else None


_POLICY = inline_serializer(
    "EscalationPolicy",
    {
        "workflow": serializers.IntegerField(),
        "is_default": serializers.BooleanField(),
        "rule": serializers.CharField(),
        "levels": LevelSerializer(many=True),
    },
)
_POLICY_BODY = inline_serializer("EscalationPolicyWrite", {"levels": LevelSerializer(many=True)})


class EscalationPolicyView(APIView):
    """A workflow's escalation policy: the levels told after the stall's owner. Read:
    everyone signed in; replace (PUT, `levels: []` for the default): leads of the
    workflow's teams and admins."""

    def _workflow(self, pk):
        return api_object_or_404(Workflow, pk=parse_id(pk) or 0)

    @extend_schema(responses=_POLICY)
    def get(self, request, pk):
        return Response(_represent(self._workflow(pk)))

    @extend_schema(request=_POLICY_BODY, responses=_POLICY)
    def put(self, request, pk):
        workflow = self._workflow(pk)
        if not workflow.can_edit(request.user):
            raise ApiPermissionDenied(
                "Only leads of the teams in this workflow and admins can change it."
            )
        levels = request.data.get("levels") if hasattr(request.data, "get") else None
        if not isinstance(levels, list) or not all(isinstance(row, dict) for row in levels):
            raise serializers.ValidationError({"levels": ["A list of levels."]})
        if len(levels) > MAX_LEVELS:
            raise serializers.ValidationError({"levels": [f"At most {MAX_LEVELS} levels."]})
        formset = escalation_formset(workflow, _form_data(levels))
        if not formset.is_valid():
            raise serializers.ValidationError(
                {"levels": [dict(form.errors) for form in formset.forms]}
            )
        save_policy(workflow, formset.levels())
        return Response(_represent(workflow))


def _form_data(levels):
    """The API body as the formset's POST data (one set of rules for both doors)."""
    data = {"level-TOTAL_FORMS": str(len(levels)), "level-INITIAL_FORMS": "0"}
    for index, row in enumerate(levels):
        for field in ("kind", "person", "delay_hours", "repeat_hours"):
            value = row.get(field)
            data[f"level-{index}-{field}"] = "" if value is None else str(value)
    return data


def _represent(workflow):
    levels = levels_of(workflow)
    return {
        "workflow": workflow.pk,
        "is_default": not levels,
        "rule": DEFAULT_RULE if not levels else "The owner, then these levels in order.",
        "levels": LevelSerializer(levels, many=True).data,
    }
