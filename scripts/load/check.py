"""After a load run: is every write the load saw succeed in the database, exactly once?

Reads the ids the locustfile wrote (LOAD_COUNTS): items whose create, handoff and accept
answered 201/200. Then, from the event log:

- lost: an item the load saw created, handed off or accepted without that event;
- duplicated: any load item with two `created`, two `handoff_submitted` (the load hands
  off once) or two `handoff_accepted` events.

Writes the server made but the load never heard about (requests in flight when the run
stopped, or a connection dropped after the commit) are listed, not failed: the server
did the work once, which is the point.

Exits 1 when anything was lost or duplicated.
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
KINDS = {
    "created": Event.Kind.CREATED,
    "handed_off": Event.Kind.HANDOFF_SUBMITTED,
    "accepted": Event.Kind.HANDOFF_ACCEPTED,
}


def main(seen_path):
    with open(seen_path) as handle:
        seen = {name: set(ids) for name, ids in json.load(handle).items()}
    items = WorkItem.objects.filter(title__startswith=TITLE_PREFIX).annotate(
        **{name: Count("events", filter=Q(events__kind=kind)) for name, kind in KINDS.items()}
    )
    lost, duplicated, unheard = [], [], {name: 0 for name in KINDS}
    in_db = {name: set() for name in KINDS}
    for item in items.iterator():
        for name in KINDS:
            count = getattr(item, name)
            if count > 1:
                duplicated.append(f"item {item.pk}: {count} {KINDS[name]} events")
            if count:
                in_db[name].add(item.pk)
                unheard[name] += item.pk not in seen[name]
    for name in KINDS:
        for pk in sorted(seen[name] - in_db[name]):
            lost.append(f"item {pk}: the load saw it {name}, the event log has no {KINDS[name]}")
    print("load saw:  " + json.dumps({name: len(ids) for name, ids in seen.items()}))
    print("database:  " + json.dumps({name: len(ids) for name, ids in in_db.items()}))
    print("done by the server, unheard by the load (in flight at the end): " + json.dumps(unheard))
    if lost or duplicated:
        print("LOST OR DUPLICATED:\n  " + "\n  ".join((lost + duplicated)[:50]))
        return 1
    print("events: none lost, none duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
