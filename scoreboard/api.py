"""GET /api/v1/scoreboard/?workflow=ID&since=DATE&until=DATE: the numbers behind the dashboard."""

import datetime

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from handoffs.models import Workflow
from scoreboard import board_cache, dashboard
from scoreboard.forecasting.flow import lead_and_cycle
from scoreboard.models import FIGURES, WORKTIME, DeliveredItemFact, HandoffFact, StageTimeFact
from scoreboard.worktime import clock_labels


class ScoreboardQuery(serializers.Serializer):
    workflow = serializers.PrimaryKeyRelatedField(
        queryset=Workflow.objects.counted().select_related("scoreboard_target"),
        required=False,
        allow_null=True,
    )
    since = serializers.DateField(required=False, help_text="First day (UTC), inclusive.")
    until = serializers.DateField(required=False, help_text="Last day (UTC), inclusive.")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": "Must be on or after since."})
        return attrs


class ScoreboardViewSet(viewsets.ViewSet):
    """Cycle-time figures for delivered items of non-sandbox workflows.

    Percentiles use PostgreSQL's percentile_cont: linear interpolation between ranks,
    the same as numpy.percentile's default method.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter("workflow", int, description="Workflow id; all when absent."),
            OpenApiParameter("since", datetime.date, description="Default: this quarter's start."),
            OpenApiParameter("until", datetime.date, description="Default: today."),
        ],
        responses={200: dict},
    )
    def list(self, request):
        query = ScoreboardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        workflow = query.validated_data.get("workflow")
        today = timezone.now().astimezone(datetime.UTC).date()
        since = query.validated_data.get("since") or dashboard.quarter_start(today)
        until = query.validated_data.get("until") or today
        period = dashboard.window_period("custom", since, until, datetime.UTC, today)
        facts = DeliveredItemFact.objects.counted().for_workflow(workflow)
        stats = facts.delivered_between(period.since, period.until).summary()
        stages = StageTimeFact.objects.counted().for_workflow(workflow)
        handoffs = HandoffFact.objects.counted().for_workflow(workflow)
        window = (period.since, period.until)
        times = lead_and_cycle(workflow, *window) if workflow else None
        calendar_label, working_label, rule = clock_labels(workflow)
        return Response(
            {
                "workflow": workflow.pk if workflow else None,
                "since": since,
                "until": until,
                "interpolation": "linear (percentile_cont; numpy.percentile default)",
                "count": stats["count"],
                "average_cycle_time_seconds": stats["average"],
                "p50_cycle_time_seconds": stats["p50"],
                "p85_cycle_time_seconds": stats["p85"],
                "p95_cycle_time_seconds": stats["p95"],
                # The figures above are lead time (request → delivery); cycle time starts at
                # the workflow's commitment point (docs/forecasting.md).
                "commitment_point": {
                    "stage": times["stage"].pk if times and times["stage"] else None,
                    "label": times["commitment"] if times else "from the request",
                },
                "lead_time_seconds": _figures(stats),
                # Request → delivery on both clocks; `headline` is the one the workflow's
                # leads picked (calendar time by default, and for all workflows).
                "clock": {
                    "headline": board_cache.clock_of(workflow),
                    "calendar_label": calendar_label,
                    "working_label": working_label,
                    "rule": rule,
                },
                "calendar_time_seconds": _figures(stats),
                "working_time_seconds": {
                    "count": stats["count"],
                    **{key: stats[WORKTIME + key] for key in FIGURES},
                },
                "cycle_time_seconds": _figures(times["cycle"] if times else stats),
                "time_seconds": {
                    key: stats[key] or 0
                    for key in ("working", "active", "waiting", "blocked", "decision")
                },
                "flow_efficiency": (stats["active"] or 0) / stats["cycle_total"]
                if stats["cycle_total"]
                else None,
                "handoffs": stats["handoffs"] or 0,
                "bounces": stats["bounces"] or 0,
                "stages": [
                    {
                        "stage": row["stage_id"],
                        "name": row["stage__name"],
                        "team": row["stage__team__name"],
                        "items": row["items"],
                        "total_seconds": row["total"],
                        "working_seconds": row["working"],
                        "waiting_seconds": row["waiting"],
                        "blocked_seconds": row["blocked"],
                        "decision_seconds": row["decision"],
                    }
                    for row in StageTimeFact.breakdown(stages.delivered_between(*window))
                ],
                "handoffs_breakdown": [
                    {
                        "from_stage": row["from_stage_id"],
                        "to_stage": row["to_stage_id"],
                        "name": f"{row['from_stage__name']} → {row['to_stage__name']}",
                        "items": row["items"],
                        "submissions": row["submissions"],
                        "bounces": row["bounces"],
                        "wait_seconds": row["wait"],
                        "first_pass": row["first_pass"],
                    }
                    for row in HandoffFact.breakdown(handoffs.delivered_between(*window))
                ],
            }
        )


def _figures(stats):
    return {key: stats[key] for key in ("count", "average", "p50", "p85", "p95")}
