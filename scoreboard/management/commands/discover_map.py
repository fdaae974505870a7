import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoreboard.discovery.counting import discover
from scoreboard.discovery.readers import read_event_log
from scoreboard.management.columns import add_column_arguments, columns_from


class Command(BaseCommand):
    help = (
        "Discover the real map of an event log (CSV or XES, plain or gzip): directly-follows "
        "graph with waits, start and end activities, variants, resource and team handovers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="Print the map as JSON.")
        add_column_arguments(parser)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            log = read_event_log(file, columns_from(options))
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        if log.errors:
            for line, message in log.errors:
                self.stderr.write(f"{file}:{line}: {message}")
            raise CommandError(f"{len(log.errors)} problem(s); nothing was discovered.")
        found = discover(log.events, starts=log.starts)
        if options["json"]:
            self.stdout.write(json.dumps(found, ensure_ascii=False))
            return
        self.stdout.write(
            f"{found['cases']} cases, {found['events']} events, "
            f"{len(found['activities'])} activities, {found['variant_count']} variants."
        )
        for edge in found["dfg"][:15]:
            self.stdout.write(
                f"{edge['count']:>8}  {edge['from']} → {edge['to']}  "
                f"(median wait {edge['median_wait_seconds']:.0f} s)"
            )
