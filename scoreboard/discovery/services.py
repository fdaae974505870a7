"""Discovery use cases: keep an uploaded log as a baseline with its map, map its resources
to teams, and turn its main path into a draft workflow."""

import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from scoreboard.discovery.counting import discover, main_path
from scoreboard.discovery.models import Baseline
from scoreboard.discovery.readers import Columns, read_event_log

# An upload is counted in the request: bounded so one lead cannot stall a web worker.
MAX_UPLOAD_EVENTS = 1_000_000
MAX_TEAM_NAME = 100


def _require_lead(user):
    if not user.can_create_workflows:
        raise PermissionDenied("Only leads and admins discover maps from event logs.")


def _count(data, columns, team_of):
    log = read_event_log(io.BytesIO(data), columns, max_events=MAX_UPLOAD_EVENTS)
    if log.errors:
        raise ValidationError({"file": [f"Line {line}: {message}" for line, message in log.errors]})
    found = discover(log.events, starts=log.starts, team_of=team_of or None)
    found["main_path"] = main_path(found)
    found["lifecycle"] = {"starts": len(log.starts), "dropped": dict(log.dropped)}
    found["naive_timestamps"] = log.naive_timestamps
    return log.format, found


@transaction.atomic
def baseline_create(*, name, data, by, columns=None):
    """Counts the uploaded log and keeps it with its map; a bad log creates nothing."""
    _require_lead(by)
    columns = columns or Columns()
    log_format, found = _count(Baseline.pack(data), columns, {})
    return Baseline.objects.create(
        name=name[:200],
        uploaded_by=by,
        format=log_format,
        columns=columns.__dict__,
        source=Baseline.pack(data),
        discovery=found,
    )


@transaction.atomic
def baseline_teams_set(*, baseline, by, team_of):
    """Maps resources to teams ({resource: team}; blank = no team) and counts the map again."""
    _require_lead(by)
    resources = {row["from"] for row in baseline.discovery.get("handover", ())} | {
        row["to"] for row in baseline.discovery.get("handover", ())
    }
    errors = [
        f"“{team[:40]}…” is too long." for team in team_of.values() if len(team) > MAX_TEAM_NAME
    ]
    unknown = sorted(set(team_of) - resources)
    if unknown:
        errors.append(f"Unknown resource(s): {', '.join(unknown[:5])}.")
    if errors:
        raise ValidationError({"team_of": errors})
    cleaned = {resource: team.strip() for resource, team in team_of.items() if team.strip()}
    baseline = Baseline.objects.select_for_update().get(pk=baseline.pk)
    _, baseline.discovery = _count(bytes(baseline.source), Columns(**baseline.columns), cleaned)
    baseline.team_of = cleaned
    baseline.save(update_fields=["team_of", "discovery"])
    return baseline
