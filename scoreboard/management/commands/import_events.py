import io
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoreboard.discovery.readers import Columns
from scoreboard.importer import (
    CsvImport,
    event_log_import,
    event_log_import_csv,
    parse_event_log,
)
from scoreboard.management.columns import add_column_arguments, columns_from


class Command(BaseCommand):
    help = (
        "Import an event-log CSV (case_id,activity,timestamp[,resource,group,lifecycle], or "
        "the columns the options name) as a new workflow with delivered work items. "
        "All or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--workflow", required=True, help="Name of the new workflow.")
        add_column_arguments(parser)

    def handle(self, *args: Any, file: Path, workflow: str, **options: Any) -> None:
        started = time.monotonic()
        columns = columns_from(options)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            # Parsed by PostgreSQL when it can be; else (a bad row, quoting…) by parse_event_log.
            done = event_log_import_csv(data=data, workflow_name=workflow, columns=columns)
            if done is None:
                done = self._import_parsed(file, data, workflow, columns)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        created = done.workflow
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported “{created.name}”: {created.items.count()} work items, "
                f"{done.events} events, {created.stages.count()} stages "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
        if done.naive_timestamps:
            self.stdout.write(f"{done.naive_timestamps} timestamps had no offset: read as UTC.")
        if done.dropped:
            left_out = ", ".join(f"{name} {n}" for name, n in sorted(done.dropped.items()))
            self.stdout.write(f"Left out events of other lifecycle transitions: {left_out}.")

    def _import_parsed(self, file: Path, data: bytes, workflow: str, columns: Columns) -> CsvImport:
        stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        try:
            parsed = parse_event_log(stream, columns)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: {exc}") from exc
        if parsed.errors:
            for line, message in parsed.errors:
                self.stderr.write(f"{file}:{line}: {message}")
            raise CommandError(f"{len(parsed.errors)} bad row(s); nothing was imported.")
        created = event_log_import(parsed=parsed, workflow_name=workflow)
        return CsvImport(
            workflow=created,
            events=len(parsed.rows),
            naive_timestamps=parsed.naive_timestamps,
            dropped=parsed.dropped,
        )
