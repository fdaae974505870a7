import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoreboard.importer import event_log_import, parse_event_log
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
        try:
            with file.open(encoding="utf-8-sig", newline="") as stream:
                parsed = parse_event_log(stream, columns_from(options))
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: {exc}") from exc
        if parsed.errors:
            for line, message in parsed.errors:
                self.stderr.write(f"{file}:{line}: {message}")
            raise CommandError(f"{len(parsed.errors)} bad row(s); nothing was imported.")
        try:
            created = event_log_import(parsed=parsed, workflow_name=workflow)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported “{created.name}”: {created.items.count()} work items, "
                f"{len(parsed.rows)} events, {created.stages.count()} stages "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
        if parsed.naive_timestamps:
            self.stdout.write(f"{parsed.naive_timestamps} timestamps had no offset: read as UTC.")
        if parsed.dropped:
            left_out = ", ".join(f"{name} {n}" for name, n in sorted(parsed.dropped.items()))
            self.stdout.write(f"Left out events of other lifecycle transitions: {left_out}.")
