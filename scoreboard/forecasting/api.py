"""GET /api/v1/work-items/<id>/forecast/ and GET /api/v1/scoreboard/forecast/.

Both only read. The item forecast is readable by whoever may read the item: the same
queryset rule (`WorkItem.objects.visible_to`) and default permission classes as the
work-items resource, whose route it extends (opshub/api_urls.py).
"""

import datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from handoffs.models import Workflow, WorkItem
from opshub.lib.ids import parse_id
from scoreboard.forecasting import live


class ItemForecastSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    p50_at = serializers.DateTimeField(allow_null=True, help_text="Delivered by then: 50%.")
    p85_at = serializers.DateTimeField(allow_null=True, help_text="Delivered by then: 85%.")
    p95_at = serializers.DateTimeField(allow_null=True, help_text="Delivered by then: 95%.")
    simulations = serializers.IntegerField()
    history_items = serializers.IntegerField(help_text="Delivered items the model learnt from.")
    method = serializers.CharField()
    reason = serializers.CharField(help_text="Why there is no date (empty when there is).")
    due_date = serializers.DateField(allow_null=True)
    at_risk = serializers.BooleanField(help_text="The 85% date is after the due date.")


class ItemForecastView(APIView):
    @extend_schema(
        operation_id="work_items_forecast_retrieve",
        tags=["work-items"],
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses=ItemForecastSerializer,
        description="When the item will be delivered, with 50/85/95% probability.",
    )
    def get(self, request, pk):
        items = WorkItem.objects.select_related("workflow").visible_to(request.user)
        item = get_object_or_404(items, pk=parse_id(pk))
        return Response(ItemForecastSerializer(live.item_forecast(item)).data)


class WorkflowForecastQuery(serializers.Serializer):
    workflow = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.counted())
    items = serializers.IntegerField(required=False, min_value=0, max_value=live.MAX_ITEMS)
    until = serializers.DateField(required=False)

    def validate(self, attrs):
        if "items" in attrs and "until" in attrs:
            raise serializers.ValidationError({"until": "Ask for items or until, not both."})
        until = attrs.get("until")
        today = timezone.now().astimezone(datetime.UTC).date()
        if until is not None and not today < until <= today + datetime.timedelta(live.MAX_DAYS):
            raise serializers.ValidationError(
                {"until": f"Pick a day after today and within {live.MAX_DAYS} days."}
            )
        return attrs


class WorkflowForecastSerializer(serializers.Serializer):
    workflow = serializers.IntegerField()
    method = serializers.CharField()
    simulations = serializers.IntegerField()
    history_days = serializers.IntegerField()
    delivered_in_history = serializers.IntegerField()
    throughput_per_week = serializers.FloatField()
    open_items = serializers.IntegerField()
    reason = serializers.CharField(required=False)
    items = serializers.IntegerField(required=False, help_text="How many more to deliver.")
    p50_at = serializers.DateTimeField(required=False, allow_null=True)
    p85_at = serializers.DateTimeField(required=False, allow_null=True)
    p95_at = serializers.DateTimeField(required=False, allow_null=True)
    until = serializers.DateField(required=False)
    days = serializers.IntegerField(required=False)
    p50_items = serializers.IntegerField(required=False, help_text="At least this many: 50%.")
    p85_items = serializers.IntegerField(required=False, help_text="At least this many: 85%.")
    p95_items = serializers.IntegerField(required=False, help_text="At least this many: 95%.")


class WorkflowForecastView(APIView):
    @extend_schema(
        operation_id="scoreboard_forecast_retrieve",
        tags=["scoreboard"],
        parameters=[
            OpenApiParameter("workflow", int, required=True, description="Workflow id."),
            OpenApiParameter(
                "items",
                int,
                description="When will this many more be delivered (default: "
                "the workflow's open items).",
            ),
            OpenApiParameter(
                "until", datetime.date, description="How many will be delivered by this day."
            ),
        ],
        responses=WorkflowForecastSerializer,
        description="Throughput Monte Carlo: when N items will be done, or how many by a date.",
    )
    def get(self, request):
        query = WorkflowForecastQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = live.workflow_forecast(
            data["workflow"], items=data.get("items"), until=data.get("until")
        )
        return Response(WorkflowForecastSerializer(result).data)
