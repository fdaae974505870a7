"""After a load run: is every write the load made in the database exactly once?

Reads the counts the locustfile wrote (LOAD_COUNTS) and compares them with the event log.
Exits 1 when anything was lost or doubled.
"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opshub.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
django.setup()

from django.db.models import Count, Q  # noqa: E402

from handoffs.models import Event, WorkItem  # noqa: E402

TITLE_PREFIX = "Load "


def main(counts_path):
    with open(counts_path) as handle:
        counts = json.load(handle)
    items = WorkItem.objects.filter(title__startswith=TITLE_PREFIX).annotate(
        created=Count("events", filter=Q(events__kind=Event.Kind.CREATED)),
        submitted=Count("events", filter=Q(events__kind=Event.Kind.HANDOFF_SUBMITTED)),
        accepted=Count("events", filter=Q(events__kind=Event.Kind.HANDOFF_ACCEPTED)),
    )
    totals = {"items": 0, "submitted": 0, "accepted": 0}
    problems = []
    for item in items.iterator():
        totals["items"] += 1
        totals["submitted"] += item.submitted
        totals["accepted"] += item.accepted
        if item.created != 1:
            problems.append(f"item {item.pk} has {item.created} created events")
        if item.accepted > item.submitted:
            problems.append(f"item {item.pk}: {item.accepted} accepts, {item.submitted} handoffs")
    expected = {
        "items": counts["created"],
        "submitted": counts["handed_off"],
        "accepted": counts["accepted"],
    }
    for name, value in expected.items():
        if totals[name] != value:
            problems.append(f"{name}: the load saw {value}, the database has {totals[name]}")
    print(f"load said: {json.dumps(counts)}")
    print(f"database:  {json.dumps(totals)}")
    if problems:
        print("LOST OR DUPLICATED:\n  " + "\n  ".join(problems[:50]))
        return 1
    print("events: none lost, none duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
