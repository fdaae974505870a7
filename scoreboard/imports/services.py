"""Start an import in the background, and the Celery task's work: import it, reporting the
progress on the run; a refusal rolls everything back and is kept on the run, in its words."""

import io
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from handoffs.models import Team
from scoreboard.discovery.models import Baseline
from scoreboard.discovery.readers import Columns
from scoreboard.discovery.services import workflow_from_baseline
from scoreboard.importer import event_log_import, event_log_import_csv, parse_event_log
from scoreboard.imports.models import ImportRun
from scoreboard.imports.tasks import import_run_task
from scoreboard.progress import ProgressWriter, ReportedStream, part

logger = logging.getLogger(__name__)
LOCK_NAMESPACE = 7201  # advisory lock (namespace, run id): one worker imports a run
UNEXPECTED = "The import stopped on an unexpected error; nothing was imported. Try again."


@transaction.atomic
def import_run_start(*, by, workflow_name, text=None, baseline=None, stages=()):
    """A run for `text` (an event-log CSV already previewed) or for `baseline` with the
    chosen `stages` ([(activity, Team)]); the task starts when this transaction commits."""
    if not by.can_create_workflows:
        raise PermissionDenied("Only leads and admins import event logs.")
    run = ImportRun.objects.create(
        requested_by=by,
        workflow_name=workflow_name,
        source=Baseline.pack(text.encode()) if text is not None else b"",
        columns={},
        baseline=baseline,
        stages=[[activity, team.pk] for activity, team in stages],
    )
    import_run_task.delay_on_commit(run.pk)
    return run


def import_run_pending(run_id):
    """Imports a run still being imported (the task's work). Safe to run twice: an advisory
    lock lets one worker in, and a finished run is left as it is."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, run_id])
        run = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.IMPORTING).first()
        if run is None:
            return None
        report = ProgressWriter(ImportRun, run.pk)
        try:
            with transaction.atomic():
                workflow = _import(run, report)
        except (ValidationError, PermissionDenied) as exc:
            run.status, run.errors = ImportRun.Status.FAILED, _messages(exc)
        except Exception:
            logger.exception("import run failed", extra={"run": run.pk})
            run.status, run.errors = ImportRun.Status.FAILED, [UNEXPECTED]
        else:
            run.status, run.progress, run.workflow = ImportRun.Status.DONE, 100, workflow
        finally:
            report.close()
        run.source = b""  # the log lives on in the workflow (or is to be uploaded again)
        run.save(update_fields=["status", "progress", "errors", "workflow", "source"])
        return run.status


def _import(run, report):
    by = run.requested_by
    if by is None or not by.can_create_workflows:
        raise PermissionDenied("Only leads and admins import event logs.")
    if run.baseline_id:
        teams = Team.objects.in_bulk([team for _, team in run.stages])
        stages = [(activity, teams.get(team)) for activity, team in run.stages]
        return workflow_from_baseline(
            baseline=run.baseline, by=by, name=run.workflow_name, stages=stages, report=report
        )
    data, columns = run.data, Columns(**run.columns)
    # Parsed by PostgreSQL when it can be; else (a bad row, quoting…) by parse_event_log.
    done = event_log_import_csv(
        data=data, workflow_name=run.workflow_name, columns=columns, by=by, report=report
    )
    if done is not None:
        return done.workflow
    stream = io.TextIOWrapper(
        io.BufferedReader(ReportedStream(data, part(report, 0, 0.15))),
        encoding="utf-8-sig",
        newline="",
    )
    parsed = parse_event_log(stream, columns)
    return event_log_import(
        parsed=parsed, workflow_name=run.workflow_name, by=by, report=part(report, 0.15, 1)
    )


def _messages(exc):
    if isinstance(exc, PermissionDenied):
        return [str(exc)]
    return [message for messages in _by_field(exc).values() for message in messages]


def _by_field(exc):
    return exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
