import logging

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from opshub.scheduler.health import scheduler_health

logger = logging.getLogger(__name__)


def _check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok", None
    except Exception as exc:  # any failure means "down"
        return "down", str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check_redis():
    try:
        cache._cache.get_client(write=True).ping()
        return "ok", None
    except Exception as exc:
        return "down", str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@never_cache
@require_safe
def healthz(request):
    """Liveness for load balancers: 503 when PostgreSQL or Redis is unreachable."""
    checks = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        state, reason = check()
        checks[name] = {"status": state, **({"reason": reason} if reason else {})}
    # The scheduler's heartbeat lives in the database: unknowable while it is down.
    if checks["database"]["status"] == "ok":
        checks["scheduler"] = scheduler_health()
    else:
        checks["scheduler"] = {"status": "unknown"}
    down = [name for name in ("database", "redis") if checks[name]["status"] != "ok"]
    if down:
        overall = "down"
    elif checks["scheduler"]["status"] == "degraded":
        overall = "degraded"
    else:
        overall = "ok"
    if down:
        logger.warning("healthz down: %s", ", ".join(down))
    return JsonResponse({"status": overall, "checks": checks}, status=503 if down else 200)


@login_required
@require_safe
def styleguide(request):
    if not request.user.is_admin:
        raise PermissionDenied
    return render(request, "styleguide.html")


@login_required
@require_safe
def ping(request):
    """The smallest signed-in page (session, user, layout): `make bench` measures every
    page against it, so the ratios show what a page adds on top of the layout."""
    return render(request, "ping.html")
