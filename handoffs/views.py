from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from handoffs.models import Handoff, Notification, Workflow, WorkItem


@login_required
def item_list(request):
    items = WorkItem.objects.for_list()[:50]
    return render(request, "handoffs/workitem_list.html", {"items": items, "nav_active": "work"})


@login_required
def item_detail(request, pk):
    item = get_object_or_404(WorkItem.objects.for_list(), pk=pk)
    return render(request, "handoffs/workitem_detail.html", {"item": item, "nav_active": "work"})


@login_required
def workflow_list(request):
    workflows = Workflow.objects.all()
    return render(
        request, "handoffs/workflow_list.html", {"workflows": workflows, "nav_active": "workflows"}
    )


@login_required
def workflow_detail(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    return render(
        request, "handoffs/workflow_detail.html", {"workflow": workflow, "nav_active": "workflows"}
    )


@login_required
def protocol_detail(request, pk):
    handoff = get_object_or_404(Handoff.objects.select_related("workflow", "from_stage"), pk=pk)
    return render(
        request, "handoffs/protocol_detail.html", {"handoff": handoff, "nav_active": "workflows"}
    )


@login_required
def map_view(request):
    return render(request, "handoffs/map.html", {"nav_active": "map"})


@login_required
def notification_list(request):
    notifications = Notification.objects.filter(user=request.user)[:100]
    return render(request, "handoffs/notification_list.html", {"notifications": notifications})
