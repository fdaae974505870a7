"""The map page: every workflow's stages by team, each handoff coloured and sized by its
measured wait, with a halo for its open stalls."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from handoffs.map import layout as handoff_map
from handoffs.map import waits
from handoffs.workflows import services as wf
from handoffs.workflows.models import Team, Workflow
from opshub.lib.ids import parse_id


@login_required
@require_safe
def map_view(request):
    include_sandbox = request.GET.get("sandbox") == "1"
    workflow_id = parse_id(request.GET.get("workflow"))
    workflows = Workflow.objects.all() if include_sandbox else Workflow.objects.counted()
    if workflow_id:
        workflows = workflows.filter(pk=workflow_id)
    layout = handoff_map.layout(wf.with_structure(workflows), Team.objects.all())
    context = {
        "layout": layout,
        "include_sandbox": include_sandbox,
        "workflow_id": workflow_id,
        "all_workflows": Workflow.objects.all(),
        "nav_active": "map",
        "wait_classes": waits.CLASSES,
        "wait_quick": waits.QUICK,
        "wait_slow": waits.SLOW,
        "wait_min": waits.MIN_WAITS,
        "wait_window_days": waits.WINDOW.days,
    }
    return render(request, "handoffs/map.html", context)
