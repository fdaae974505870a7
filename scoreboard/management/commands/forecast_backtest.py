import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from handoffs.models import Workflow
from scoreboard.forecasting.forecast import backtest
from scoreboard.forecasting.history import History


class Command(BaseCommand):
    help = (
        "Replay a workflow's history: at K cutoffs, forecast every item open then from the "
        "history before the cutoff only, and print the share delivered by its p50/p85/p95 "
        "dates. The last line is JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", required=True, help="Workflow name.")
        parser.add_argument("--cutoffs", type=int, default=8, help="How many cutoffs (1–50).")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (repeatable runs).")

    def handle(self, *args: Any, workflow: str, cutoffs: int, seed: int, **options: Any) -> None:
        if not 1 <= cutoffs <= 50:
            raise CommandError("--cutoffs must be between 1 and 50.")
        found = Workflow.objects.filter(name=workflow).first()
        if found is None:
            raise CommandError(f"No workflow named “{workflow}”.")
        result = backtest(History.load(found), cutoffs=cutoffs, seed=seed)
        self.stdout.write(json.dumps(result))
