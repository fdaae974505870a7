"""Discovery use cases: keep an uploaded log as a baseline with its map, map its resources
to teams, and turn its main path into a draft workflow."""

import dataclasses
import datetime
import itertools

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from handoffs.workflows import services as workflows
from scoreboard.discovery.counting import stage_targets
from scoreboard.discovery.models import MAX_UPLOAD_EVENTS, Baseline
from scoreboard.discovery.readers import Columns, read_event_log
from scoreboard.discovery.tasks import baseline_count_task
from scoreboard.importer import Row, history_import, validate_workflow_name
from scoreboard.progress import IN_BACKGROUND_ABOVE_BYTES, ReportedStream, part

COUNT_LATER_ABOVE = IN_BACKGROUND_ABOVE_BYTES
# A log with more events than this is imported into its new workflow by a Celery task behind
# a progress bar; a smaller one in the request (a few seconds: helpdesk's 21,348 events).
CREATE_LATER_ABOVE_EVENTS = 50_000
MAX_TEAM_NAME = 100


def _require_lead(user):
    if not user.can_create_workflows:
        raise PermissionDenied("Only leads and admins discover maps from event logs.")


def _require_access(baseline, user):
    """The baseline locked for this use case, if `user` may see it (Baseline.visible_to)."""
    _require_lead(user)
    locked = Baseline.objects.visible_to(user).select_for_update().filter(pk=baseline.pk).first()
    if locked is None:
        raise PermissionDenied("Only the lead who uploaded this log, and admins, may use it.")
    return locked


@transaction.atomic
def baseline_create(*, name, data, by, columns=None):
    """Keeps the uploaded log with its map. A small log is counted now, and a bad one creates
    nothing; a big one is kept as being read and counted by `baseline_count_task`, which
    reports its progress and, for a bad log, its refusal on the baseline."""
    _require_lead(by)
    columns = columns or Columns()
    source = Baseline.pack(data)
    baseline = Baseline(
        name=name[:200], uploaded_by=by, columns=dataclasses.asdict(columns), source=source
    )
    if len(data) > COUNT_LATER_ABOVE:
        baseline.status, baseline.progress = Baseline.Status.COUNTING, 0
        baseline.save()
        baseline_count_task.delay_on_commit(baseline.pk)
        return baseline
    baseline.format, baseline.discovery = baseline.count()
    baseline.cases, baseline.events = baseline.discovery["cases"], baseline.discovery["events"]
    baseline.save()
    return baseline


@transaction.atomic
def baseline_teams_set(*, baseline, by, team_of):
    """Maps resources to teams ({resource: team}; blank = no team) and counts the map again."""
    baseline = _require_access(baseline, by)
    if not baseline.is_ready:
        raise ValidationError({"team_of": ["The log is not counted yet."]})
    resources = set(baseline.discovery.get("resources", ()))
    errors = [
        f"“{team[:40]}…” is too long." for team in team_of.values() if len(team) > MAX_TEAM_NAME
    ]
    unknown = sorted(set(team_of) - resources)
    if unknown:
        errors.append(f"Unknown resource(s): {', '.join(unknown[:5])}.")
    if errors:
        raise ValidationError({"team_of": errors})
    cleaned = {resource: team.strip() for resource, team in team_of.items() if team.strip()}
    _, baseline.discovery = baseline.count(team_of=cleaned)
    baseline.team_of = cleaned
    baseline.save(update_fields=["team_of", "discovery"])
    return baseline


# Attributes carried by at least this share of an activity's events become its protocol's
# prefilled fields: present "most of the time" is what the receiver has come to rely on.
TRAVELS_SHARE = 0.5


def travelling_fields(found, activity):
    """Protocol field definitions for what arrives with the work at `activity`."""
    row = next((a for a in found["activities"] if a["name"] == activity), {})
    fields, keys = [], set()
    for attribute in row.get("attributes", ()):
        if attribute["share"] < TRAVELS_SHARE:
            continue
        key = _field_key(attribute["name"], keys)
        keys.add(key)
        fields.append(
            {"key": key, "label": attribute["name"][:80], "type": "text", "required": True,
             "help": f"In the log on {attribute['share']:.0%} of “{activity}” events."}
        )  # fmt: skip
    return fields


def _field_key(name, taken):
    base = (slugify(name).replace("-", "_").lstrip("0123456789_") or "field")[:40]
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


@transaction.atomic
def workflow_from_baseline(*, baseline, by, name, stages, report=None):
    """The discovered path as a draft workflow: `stages` is [(activity, Team)] in order.

    Stage targets come from the measured p85; every collision zone (consecutive stages of
    different teams) gets a draft protocol prefilled with the fields that travel there;
    the log's cases, cut to the chosen activities, are imported as the workflow's
    delivered history, its baseline on the scoreboard. All or nothing. `report(fraction)`
    is told how far the history import got (scoreboard/progress.py).
    """
    # Locked: two requests creating from one log at once make one workflow, not two.
    baseline = _require_access(baseline, by)
    errors = workflow_problems(baseline, name, stages)
    if errors:
        raise ValidationError(errors)
    activities = [activity for activity, _ in stages]
    found = baseline.discovery
    workflow = workflows.workflow_create(
        by=by, name=name.strip(), description=f"Discovered from the event log “{baseline.name}”."
    )
    targets = stage_targets(found, activities)
    created = {}
    for activity, team in stages:
        seconds = targets[activity]
        created[activity] = workflows.stage_add(
            workflow=workflow,
            by=by,
            name=activity,
            team=team,
            target=datetime.timedelta(seconds=round(seconds)) if seconds else None,
        )
    for here, after in itertools.pairwise(activities):
        if created[here].team_id == created[after].team_id:
            continue
        draft = workflows.protocol_draft(handoff=created[here].handoff_out, by=by)
        workflows.protocol_save(version=draft, by=by, fields=travelling_fields(found, after))
    _import_cases(baseline, workflow, created, by, report)
    Baseline.objects.filter(pk=baseline.pk).update(workflow=workflow)
    return workflow


def workflow_problems(baseline, name, stages):
    """{field: [messages]} that refuse this draft; empty when it may be created."""
    if not baseline.is_ready:
        return {"stages": ["The log is not counted yet."]}
    if baseline.workflow_id:
        return {"name": [f"“{baseline.workflow}” was already created from this log."]}
    errors = {}
    try:
        validate_workflow_name(name)
    except ValidationError as exc:
        errors["name"] = exc.message_dict["workflow"]
    known = {a["name"] for a in baseline.discovery.get("activities", ())}
    names = [activity for activity, _ in stages]
    if len(stages) < 2:
        errors["stages"] = ["Pick at least two activities to become stages."]
    elif set(names) - known or len(set(names)) != len(names):
        errors["stages"] = ["Pick activities of this log, each once."]
    elif any(len(activity) > 100 for activity in names):
        errors["stages"] = ["A stage name is at most 100 characters; rename it in the export."]
    elif any(team is None for _, team in stages):
        errors["stages"] = ["Pick the team that owns each stage."]
    return errors


def _import_cases(baseline, workflow, created, by, report=None):
    """The log's cases, with only the events of the chosen activities, as delivered items."""
    log = read_event_log(
        ReportedStream(bytes(baseline.source), part(report, 0, 0.2)),
        Columns(**baseline.columns),
        max_events=MAX_UPLOAD_EVENTS,
    )
    rows = [
        Row(line=event.seq, case_id=event.case, activity=event.activity,
            at=datetime.datetime.fromtimestamp(event.at, tz=datetime.UTC),
            resource=event.resource)
        for event in log.events
        if event.activity in created
    ]  # fmt: skip
    if any(len(row.case_id) > 120 for row in rows):
        raise ValidationError({"stages": ["A case id is longer than 120 characters."]})
    history_import(workflow=workflow, rows=rows, stages=created, by=by, report=part(report, 0.2, 1))
