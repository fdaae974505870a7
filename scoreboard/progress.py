"""Long work on an uploaded log, done by a Celery task behind a progress bar.

One mechanism for every such job (counting a discovered map, importing a history): the job
is a row with `status`, `progress` (percent) and `errors`; the task reports how far it got
on that row; the page polls a partial (`templates/includes/progress.html`) every second and
reloads itself when the job is over, so it survives a reload or a visit later.

The progress is written through a database connection of its own: an import writes its
history in one transaction (all or nothing), and the page must see the bar move before
that transaction commits.
"""

import io

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

# Above this many bytes an upload is read by a Celery task behind a progress bar; below, in
# the request (about a second for 2 MB).
IN_BACKGROUND_ABOVE_BYTES = 2 * 1024 * 1024
PROGRESS_STEP = 0.05  # a stream reports every 5 % of it read


class ReportedStream(io.RawIOBase):
    """Bytes as a stream that tells `report` which share of them was read."""

    def __init__(self, data, report):
        self.data, self.position, self.report = memoryview(data), 0, report
        self.next_report = len(data) * PROGRESS_STEP

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), len(self.data) - self.position)
        buffer[:size] = self.data[self.position : self.position + size]
        self.position += size
        if self.report and self.position >= self.next_report:
            self.report(self.position / len(self.data))
            self.next_report += len(self.data) * PROGRESS_STEP
        return size


def part(report, start, end):
    """`report` for one stage of the work: its 0…1 becomes start…end of the whole."""
    if report is None:
        return None
    return lambda fraction: report(start + (end - start) * fraction)


class ProgressWriter:
    """report(fraction) for the job row `model`/`pk`: writes its percent (at most 99: the
    job's end sets 100 with its result), only when it moved, outside the caller's
    transaction. Close it when the work is over."""

    def __init__(self, model, pk):
        self.table, self.pk, self.percent = model._meta.db_table, pk, -1
        self.connection = None

    def __call__(self, fraction):
        percent = max(0, min(99, int(fraction * 100)))
        if percent <= self.percent:
            return
        self.percent = percent
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {self.table} SET progress = %s WHERE id = %s",  # noqa: S608 - a model's table
                    [percent, self.pk],
                )
        except DatabaseError:  # the bar stalls for a moment; the work goes on
            self.connection.close()
            self.connection = None

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None
