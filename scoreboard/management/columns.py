"""The column options `import_events` and `discover_map` share: where each field of an
event log is, by CSV column name (matched ignoring case) or XES attribute key."""

from argparse import ArgumentParser
from typing import Any

from scoreboard.discovery.readers import Columns

# (option, Columns field, what it holds)
COLUMN_OPTIONS = (
    ("case", "case", "the case id (one case becomes one work item)"),
    ("activity", "activity", "the activity (activities become stages)"),
    ("timestamp", "timestamp", "the ISO-8601 timestamp"),
    ("resource", "resource", "the person or system that did the step"),
    ("team", "team", "the team of each event (it owns the stage)"),
    (
        "lifecycle",
        "lifecycle",
        "the lifecycle transition: complete kept, start and others left out",
    ),
)


def add_column_arguments(parser: ArgumentParser) -> None:
    defaults = Columns()
    for option, name, what in COLUMN_OPTIONS:
        default = getattr(defaults, name)
        parser.add_argument(
            f"--{option}-column",
            default=default,
            metavar="NAME",
            help=f"Column (XES: attribute key) of {what}; default: {default}.",
        )


def columns_from(options: dict[str, Any]) -> Columns:
    """The Columns the command's options name."""
    return Columns(**{name: options[f"{option}_column"] for option, name, _ in COLUMN_OPTIONS})
