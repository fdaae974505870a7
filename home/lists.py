"""My work's six lists, read in one statement.

Each branch of MY_WORK_SQL is the query a model's manager writes, named in its comment, cut
to the columns the page shows: read as six ORM querysets of model objects, the lists took
two thirds of the page's time at 100,000 items (compiling and planning six joined queries,
building five objects a row), and the page measured 3.5× the trivial one against its 2×
(`make bench`). tests/home/test_my_work_lists.py checks every branch against its manager.
"""

import datetime
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from handoffs.models import Decision, StallEpisode, WorkItem
from opshub.accounts.models import User
from opshub.lib.urls import url_maker
from reviews.models import ActionItem, Review

# A screenful per list: each list links to its full page.
ROWS = 10

# Every branch returns the same columns: which list, the item, then what that list shows.
MY_WORK_SQL = """
WITH my_teams AS MATERIALIZED (
    -- Team.objects.of_user(user)
    SELECT team_id AS id FROM handoffs_team_members WHERE user_id = %(user)s
    UNION SELECT id FROM handoffs_team WHERE lead_id = %(user)s
)
(   -- WorkItem.objects.waiting_for_teams(teams)
    SELECT 'waiting' AS list, i.id AS item_id, i.title, w.name AS a, s.name AS b, NULL AS c,
           i.state_changed_at AS at, NULL::date AS day, NULL::bigint AS ref, NULL::bigint AS ref2,
           NULL::date AS week
    FROM handoffs_workitem i
    JOIN handoffs_workflow w ON w.id = i.workflow_id
    JOIN handoffs_stage s ON s.id = i.stage_id
    LEFT JOIN handoffs_protocolversion v ON v.id = i.pending_version_id
    WHERE i.state = %(waiting)s
      AND (v.receiving_team_id IN (SELECT id FROM my_teams)
           OR (v.receiving_team_id IS NULL AND s.team_id IN (SELECT id FROM my_teams)))
    ORDER BY i.state_changed_at, i.id LIMIT %(rows)s
) UNION ALL (
    -- WorkItem.objects.filter(assignee=user, state=IN_PROGRESS)
    SELECT 'in_progress', i.id, i.title, w.name, s.name, NULL, i.stage_entered_at, i.due_date,
           NULL, NULL, NULL
    FROM handoffs_workitem i
    JOIN handoffs_workflow w ON w.id = i.workflow_id
    JOIN handoffs_stage s ON s.id = i.stage_id
    WHERE i.assignee_id = %(user)s AND i.state = %(in_progress)s
    ORDER BY i.stage_entered_at, i.id LIMIT %(rows)s
) UNION ALL (
    -- Recovery.objects.open().filter(owner=user)
    SELECT 'recoveries', r.item_id, i.title, r.missing_input, NULL, NULL, r.next_check_at,
           NULL, NULL, NULL, NULL
    FROM handoffs_recovery r
    JOIN handoffs_workitem i ON i.id = r.item_id
    WHERE r.owner_id = %(user)s AND r.closed_at IS NULL
    ORDER BY r.next_check_at, r.id LIMIT %(rows)s
) UNION ALL (
    -- Decision.objects.awaiting(user)
    SELECT 'decisions', d.item_id, i.title, t.name, d.summary,
           COALESCE(NULLIF(u.full_name, ''), u.email), d.requested_at, NULL, d.id, NULL,
           NULL
    FROM handoffs_decision d
    JOIN handoffs_workitem i ON i.id = d.item_id
    JOIN handoffs_decisiontype t ON t.id = d.decision_type_id
    JOIN accounts_user u ON u.id = d.requester_id
    WHERE d.status = %(pending)s AND d.requester_id <> %(user)s
      AND (%(admin)s OR d.approver_id = %(user)s)
    ORDER BY d.requested_at, d.id LIMIT %(rows)s
) UNION ALL (
    -- ActionItem.objects.overdue(today).filter(owner=user)
    SELECT 'actions', NULL, a.title, b.title, NULL, NULL, NULL, a.due_date, a.review_id,
           a.breakage_id, r.week
    FROM reviews_actionitem a
    LEFT JOIN reviews_review r ON r.id = a.review_id
    LEFT JOIN reviews_breakage b ON b.id = a.breakage_id
    WHERE a.owner_id = %(user)s AND a.status = %(open)s AND a.due_date < %(today)s
    ORDER BY a.due_date, a.id LIMIT %(rows)s
) UNION ALL (
    -- StallEpisode.objects.open().filter(owner=user)
    SELECT 'stalls', e.item_id, i.title, e.kind, NULL, NULL, e.started_at, NULL, e.id, NULL, NULL
    FROM handoffs_stallepisode e
    JOIN handoffs_workitem i ON i.id = e.item_id
    WHERE e.owner_id = %(user)s AND e.resolved_at IS NULL
    ORDER BY e.started_at, e.id LIMIT %(rows)s
)
"""


class Row(NamedTuple):
    """One row of any list, as MY_WORK_SQL returns it; `_shown` names its columns."""

    list: str
    item_id: int | None
    title: str
    a: str | None
    b: str | None
    c: str | None
    at: datetime.datetime | None
    day: datetime.date | None
    ref: int | None
    ref2: int | None
    week: datetime.date | None


LISTS = ("waiting", "in_progress", "recoveries", "decisions", "actions", "stalls")


def my_lists(user: User, *, now: datetime.datetime | None = None) -> dict[str, list[dict]]:
    """The page's lists for `user`, each its first ROWS rows, a dict per row of what the
    page shows (`make bench` checks that the person it measures has work in them)."""
    now = now or timezone.now()
    params = {
        "user": user.pk,
        "admin": user.is_admin,
        "today": timezone.localdate(now),
        "rows": ROWS,
        "waiting": WorkItem.State.WAITING_ACCEPTANCE,
        "in_progress": WorkItem.State.IN_PROGRESS,
        "pending": Decision.Status.PENDING,
        "open": ActionItem.Status.OPEN,
    }
    with connection.cursor() as cursor:
        cursor.execute(MY_WORK_SQL, params)
        rows = [Row(*values) for values in cursor.fetchall()]
    links = _Links()
    lists: dict[str, list[dict]] = {name: [] for name in LISTS}
    for row in rows:
        lists[row.list].append(_shown(row, links, now))
    return lists


class _Links:
    """The URLs the lists link to, each pattern reversed once."""

    def __init__(self):
        self.item = url_maker("handoffs:item-detail")
        self.stall = url_maker("handoffs:stall-detail")
        self.review = url_maker("reviews:review-detail")
        self.breakage = url_maker("reviews:breakage-detail")


def _shown(row, links, now):
    """What a row of its list shows, by name."""
    item = {"item_id": row.item_id, "title": row.title}
    if row.item_id is not None:
        item["url"] = links.item(row.item_id)
    match row.list:
        case "waiting":
            return {**item, "workflow": row.a, "stage": row.b, "since": row.at}
        case "in_progress":
            return {**item, "workflow": row.a, "stage": row.b, "since": row.at, "due": row.day}
        case "recoveries":
            overdue = row.at < now
            return {**item, "missing_input": row.a, "next_check_at": row.at, "overdue": overdue}
        case "decisions":
            return {
                **item,
                "decision_id": row.ref,
                "label": f"{row.a}: {row.b}",  # Decision.__str__
                "summary": row.b,
                "requester": row.c,
                "since": row.at,
                "url": f"{item['url']}#decision-{row.ref}",  # Decision.get_absolute_url
            }
        case "actions":
            if row.ref is not None:
                source, source_url = str(Review(week=row.week)), links.review(row.ref)
            elif row.ref2 is not None:
                source, source_url = row.a, links.breakage(row.ref2)
            else:
                source, source_url = "", ""
            return {**item, "due": row.day, "source": source, "source_url": source_url}
        case "stalls":
            return {
                **item,
                "stall_id": row.ref,
                "kind": StallEpisode.Kind(row.a).label,
                "stall_url": links.stall(row.ref),
                "since": row.at,
            }
    raise ValueError(row.list)
