"""My work: what waits for the signed-in person, across work items, decisions, stalls and the
weekly review's action items. It reads handoffs and reviews, so it stands above both
(pyproject.toml, [tool.importlinter])."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from home.lists import my_lists


@login_required
@require_safe
def my_work(request):
    context = {**my_lists(request.user), "nav_active": "my-work"}
    return render(request, "home/my_work.html", context)
