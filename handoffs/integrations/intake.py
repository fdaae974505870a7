"""Inbound webhooks: signed payloads from a CRM (or any sender) become work items.

The contract (docs/integrations.md, DESIGN.md):
    X-Opshub-Timestamp: <Unix seconds>
    X-Opshub-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>
    X-Opshub-Event-Id:  <the sender's event id> (or a payload path set on the source)

The first half of this module is pure: payload paths, templates, signatures. The second
half, `intake_receive`, is the use case: verify, map, create the item and log the delivery
in one transaction, so a rejected call changes nothing but the log.
"""

import datetime
import hashlib
import json
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from handoffs.integrations.models import IntakeDelivery, IntakeSource
from handoffs.work.models import WorkItem
from handoffs.work.services import work_item_create, workflow_field_definitions
from handoffs.workflows.fields import printable, unstorable
from opshub.accounts.models import AuditEntry
from opshub.lib import jsonbody
from opshub.lib.dates import due_date_problem, requested_at_problem
from opshub.lib.ids import parse_int
from opshub.lib.signing import new_secret, signature_digest, verify

MAX_BODY_BYTES = 256 * 1024
CORE_TARGETS = ("title", "external_ref", "requested_at", "due_date")
_MISSING = object()
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")

# --- Payload paths --------------------------------------------------------------------------


def resolve(payload, path):
    """The value at a dotted path ("deal.lines.0.sku"); numeric parts index lists.

    Returns _MISSING when any part is absent. Keys that contain a dot cannot be addressed.
    """
    value = payload
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and parse_int(part, min=0, max=len(value) - 1) is not None:
            value = value[parse_int(part)]
        else:
            return _MISSING
    return value


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def render(spec, payload):
    """A mapping value: a plain path, or a template like "Deal {deal.name} ({deal.id})".

    Returns (value, missing paths). A plain path keeps the payload's JSON type; a template
    gives text. None and "" count as missing.
    """
    spec = (spec or "").strip()
    if "{" not in spec:
        value = resolve(payload, spec)
        if value is _MISSING or value is None or value == "":
            return None, [spec]
        return value, []
    missing = []

    def substitute(match):
        value = resolve(payload, match.group(1).strip())
        if value is _MISSING or value is None or value == "":
            missing.append(match.group(1).strip())
            return ""
        return _as_text(value)

    text = _PLACEHOLDER.sub(substitute, spec)
    return (None if missing else text), missing


@dataclass
class Mapped:
    title: str = ""
    external_ref: str = ""
    requested_at: datetime.datetime | None = None
    due_date: datetime.date | None = None
    fields: dict = field(default_factory=dict)
    event_id: str = ""
    missing: list = field(default_factory=list)  # human-readable: "title (deal.name)"
    errors: dict = field(default_factory=dict)  # target → message


def parse_timestamp(value):
    """ISO 8601 text or Unix seconds → aware datetime (naive is UTC); None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=datetime.UTC)


def parse_day(value):
    """An ISO date ("2026-12-24"), or the date of an ISO 8601 date-time; None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        day = parse_date(value.strip())
    except ValueError:
        return None
    if day is not None:
        return day
    moment = parse_timestamp(value)
    return moment.date() if moment else None


def map_payload(mapping, payload, *, event_id_path=""):
    """Applies a source's mapping. Title is required; every other mapped core value must
    resolve too (a mapped path the sender forgot is an error, not a silent blank); protocol
    fields that are absent are left out, and work_item_create validates the rest."""
    mapped = Mapped()
    if not isinstance(payload, dict):
        mapped.errors["payload"] = "The body must be a JSON object."
        return mapped
    if not (mapping.get("title") or "").strip():
        mapped.errors["title"] = "The source maps no title."
    for target in CORE_TARGETS:
        _map_core(mapped, target, (mapping.get(target) or "").strip(), payload)
    for key, spec in (mapping.get("fields") or {}).items():
        _map_field(mapped, key, spec, payload)
    if event_id_path:
        _map_event_id(mapped, event_id_path, payload)
    return mapped


_TEXT_LIMITS = {"title": 200, "external_ref": 120}


def _map_core(mapped, target, spec, payload):
    if not spec:
        return
    value, missing = render(spec, payload)
    if missing:
        mapped.missing.append(f"{target} ({', '.join(missing)})")
    elif target == "requested_at":
        mapped.requested_at = parse_timestamp(value)
        if mapped.requested_at is None:
            mapped.errors[target] = f"“{_as_text(value)[:40]}” is not a date-time."
        elif problem := requested_at_problem(mapped.requested_at):
            mapped.errors[target] = problem
    elif target == "due_date":
        mapped.due_date = parse_day(value)
        if mapped.due_date is None:
            mapped.errors[target] = f"“{_as_text(value)[:40]}” is not a date."
        elif problem := due_date_problem(mapped.due_date):
            mapped.errors[target] = problem
    else:
        text, limit = _as_text(value).strip(), _TEXT_LIMITS[target]
        if len(text) > limit:
            mapped.errors[target] = f"Longer than {limit} characters."
        setattr(mapped, target, text[:limit])


def _map_field(mapped, key, spec, payload):
    value, missing = render(spec, payload)
    if missing:
        return  # an absent field is left out; required ones are work_item_create's call
    mapped.fields[key] = value if isinstance(value, (str, int, float, bool)) else None
    if mapped.fields[key] is None:
        mapped.errors[f"fields.{key}"] = "Must be a single value, not a list or object."


def _map_event_id(mapped, path, payload):
    value, missing = render(path, payload)
    if missing:
        mapped.missing.append(f"event id ({path})")
    else:
        mapped.event_id = _as_text(value)[:200]


def mapping_paths(mapping):
    """Every payload path a mapping reads (for the source page's summary)."""
    specs = [mapping.get(t) or "" for t in CORE_TARGETS]
    specs += list((mapping.get("fields") or {}).values())
    paths = []
    for spec in specs:
        paths += _PLACEHOLDER.findall(spec) if "{" in spec else ([spec] if spec else [])
    return [p.strip() for p in paths]


def validate_mapping(mapping, workflow):
    """Problems with a source's mapping, as {target: message} (empty when usable)."""
    if not isinstance(mapping, dict):
        return {"mapping": "Must be a JSON object."}
    errors = {}
    unknown = set(mapping) - {*CORE_TARGETS, "fields"}
    if unknown:
        errors["mapping"] = f"Unknown keys: {', '.join(sorted(map(printable, unknown)))}."
    for target in CORE_TARGETS:
        if not isinstance(mapping.get(target, ""), str):
            errors[target] = "Must be a payload path like deal.name."
        elif problem := unstorable(mapping.get(target, "")):
            errors[target] = f"The path {problem}."
    title = mapping.get("title")
    if not isinstance(title, str) or not title.strip():
        errors["title"] = "Map a payload path (or a template) to the title."
    fields = mapping.get("fields") or {}
    if not isinstance(fields, dict):
        errors["fields"] = "Must be an object of field key → payload path."
        return errors
    known = workflow_field_definitions(workflow)
    for key, spec in fields.items():
        if message := _field_path_problem(key, spec, known, workflow):
            errors[f"fields.{printable(key)}"] = message
    return errors


def _field_path_problem(key, spec, known, workflow):
    if key not in known:
        return f"“{printable(key)}” is not a field of {workflow.name}."
    if not isinstance(spec, str) or not spec.strip():
        return "Must be a payload path like deal.po_number."
    if problem := unstorable(spec):
        return f"The path {problem}."
    return ""


# --- Audit trail ----------------------------------------------------------------------------

# Everything the trail records of a source: never its secret.
AUDITED_FIELDS = [
    "name",
    "slug",
    "workflow_id",
    "stage_id",
    "assignee_id",
    "mapping",
    "event_id_path",
    "is_active",
]
_AUDIT_VERB = {"create": "Created", "update": "Changed", "delete": "Deleted"}


def audited(source):
    return {name: getattr(source, name) for name in AUDITED_FIELDS}


def source_audit(*, source, by, action, before=None):
    """Records a change to an intake source (views, API and admin share it)."""
    after = None if action == AuditEntry.Action.DELETE else audited(source)
    if action == AuditEntry.Action.UPDATE and before == after:
        return None
    if action == AuditEntry.Action.ROTATE_SECRET:
        summary = f"Rotated the secret of intake source {source.name}"
    else:
        changed = sorted(k for k in after or {} if before and before[k] != after[k])
        summary = f"{_AUDIT_VERB[action]} intake source {source.name}" + (
            f": {', '.join(changed)}" if changed else ""
        )
    return AuditEntry.objects.record(
        actor=by, action=action, obj=source, summary=summary, before=before, after=after
    )


@transaction.atomic
def source_create(*, source, by):
    """Saves a new (unsaved, validated) source with a fresh secret, and its audit entry."""
    source.secret, source.created_by = new_secret(), by
    source.save()
    source_audit(source=source, by=by, action=AuditEntry.Action.CREATE)
    return source


@transaction.atomic
def source_rotate_secret(*, source, by):
    """A new secret (the old one stops working at once), with its audit entry."""
    source.secret = new_secret()
    source.save(update_fields=["secret", "updated_at"])
    source_audit(source=source, by=by, action=AuditEntry.Action.ROTATE_SECRET)
    return source


# --- Signatures -------------------------------------------------------------------------------


# --- The use case -------------------------------------------------------------------------------

LOGGED_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-Opshub-Timestamp",
    "X-Opshub-Signature",
    "X-Opshub-Event-Id",
)


@dataclass
class Outcome:
    http_status: int
    body: dict
    delivery: object = None


def _log(source, *, status, http_status, reason, event_id, payload, body, headers, **extra):
    """Logs a delivery as PostgreSQL can store it: the raw body of a refused one is kept as
    text with NUL and lone surrogates escaped (a parsed payload never holds them)."""
    text = "" if payload is not None else body[:10000].decode("utf-8", "replace")
    return IntakeDelivery.objects.create(
        source=source,
        status=status,
        http_status=http_status,
        reason=jsonbody.storable_text(reason),
        event_id=jsonbody.storable_text(event_id)[:200],
        payload=payload,
        body=jsonbody.storable_text(text),
        headers={name: jsonbody.storable_text(value) for name, value in headers.items()},
        **extra,
    )


def _kept_headers(headers):
    return {name: headers[name] for name in LOGGED_HEADERS if headers.get(name)}


def _event_id_header(headers):
    return (headers.get("X-Opshub-Event-Id") or "").strip()


def log_oversized(*, source, headers):
    """A delivery refused for its size is logged too, without reading its body."""
    reason = f"The body is larger than {MAX_BODY_BYTES // 1024} KB."
    _log(
        source,
        status=IntakeDelivery.Status.REJECTED,
        http_status=413,
        reason=reason,
        event_id=_event_id_header(headers),
        payload=None,
        body=b"",
        headers=_kept_headers(headers),
    )
    return reason


def _earlier_item_id(source, event_id, signature, external_ref):
    """The item an accepted delivery of this event (or of this very signed message) created,
    else the source's item with this external reference; None when the event is new."""
    accepted = IntakeDelivery.objects.filter(source=source, status=IntakeDelivery.Status.ACCEPTED)
    earlier = (
        accepted.filter(Q(event_id=event_id) | Q(signature=signature))
        .values_list("item_id", flat=True)
        .first()
    )
    if earlier is None and external_ref:
        earlier = (
            WorkItem.objects.filter(source=source.item_source, external_ref=external_ref)
            .values_list("pk", flat=True)
            .first()
        )
    return earlier


def intake_receive(*, source, headers, body, now=None):
    """Verifies, maps and creates at most one work item; logs the delivery whatever happens.

    The signature is checked on the raw bytes before the body is parsed, so a forger costs
    one HMAC and a log row; the body is then parsed strictly (opshub.lib.jsonbody).

    A replay is recognised by its event id and by its signature: the HMAC covers only the
    timestamp and the body, so a captured delivery re-sent with another X-Opshub-Event-Id
    is still the same signed message and creates nothing. Deliveries of one source are
    serialised by a row lock on the source, so two replays arriving together cannot both
    create an item: the second sees the first's accepted delivery. Partial unique
    constraints on accepted deliveries, (source, event_id) and (source, signature), back
    this up.
    """
    kept = _kept_headers(headers)
    payload = None
    event_id = _event_id_header(headers)

    def reject(http_status, reason, **extra):
        delivery = _log(
            source,
            status=IntakeDelivery.Status.REJECTED,
            http_status=http_status,
            reason=reason,
            event_id=event_id,
            payload=payload,
            body=body,
            headers=kept,
        )
        return Outcome(http_status, {"detail": reason, **extra}, delivery)

    problem = verify(
        source.secret,
        timestamp=(headers.get("X-Opshub-Timestamp") or "").strip(),
        signature=headers.get("X-Opshub-Signature") or "",
        body=body,
        now=now,
    )
    if problem:
        return reject(401, problem)
    signature = signature_digest(headers.get("X-Opshub-Signature") or "")
    try:
        payload = jsonbody.loads(body)
    except jsonbody.BodyError as exc:
        return reject(400, str(exc))
    if event_id != jsonbody.storable_text(event_id):
        return reject(400, "X-Opshub-Event-Id must not contain NUL or a lone surrogate.")
    # The header wins; the mapped payload field is only needed when the header is absent.
    mapped = map_payload(
        source.mapping, payload, event_id_path="" if event_id else source.event_id_path
    )
    if not event_id:
        # Without an id from the sender, the body itself identifies the event.
        event_id = mapped.event_id or "sha256:" + hashlib.sha256(body).hexdigest()
    if mapped.missing or mapped.errors:
        detail = "The payload cannot be mapped to a work item."
        if mapped.missing:
            detail += " Missing: " + "; ".join(mapped.missing) + "."
        return reject(400, detail, missing=mapped.missing, errors=mapped.errors)

    with transaction.atomic():
        IntakeSource.objects.select_for_update().filter(pk=source.pk).first()
        earlier = _earlier_item_id(source, event_id, signature, mapped.external_ref)
        if earlier is not None:
            delivery = _log(
                source,
                status=IntakeDelivery.Status.DUPLICATE,
                http_status=200,
                reason="Already received: nothing was created.",
                event_id=event_id,
                payload=payload,
                body=body,
                headers=kept,
                item_id=earlier,
                signature=signature,
            )
            return Outcome(200, {"status": "duplicate", "item": earlier}, delivery)
        try:
            with transaction.atomic():
                item = work_item_create(
                    workflow=source.workflow,
                    stage=source.stage,
                    title=mapped.title,
                    by=None,
                    requested_at=mapped.requested_at,
                    due_date=mapped.due_date,
                    external_ref=mapped.external_ref,
                    source=source.item_source,
                    fields=mapped.fields,
                    assignee=source.assignee or source.stage.team.lead,
                )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
            errors = {key: " ".join(messages) for key, messages in errors.items()}
            reason = "The work item was refused: " + "; ".join(
                f"{key}: {message}" for key, message in errors.items()
            )
            return reject(400, reason, errors=errors)
        delivery = _log(
            source,
            status=IntakeDelivery.Status.ACCEPTED,
            http_status=201,
            reason="",
            event_id=event_id,
            payload=payload,
            body=body,
            headers=kept,
            item=item,
            signature=signature,
        )
    return Outcome(201, {"status": "accepted", "item": item.pk}, delivery)
