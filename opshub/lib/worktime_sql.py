"""Working-time arithmetic for every row of a query at once, inside PostgreSQL.

Why a table and not a per-item loop: a stall scan looks at thousands of waiting items but
only at a handful of calendars (one per team). So Python walks each calendar once over the
scan's window (`WorkTable.build`: one row per working day, with the working seconds
before it), and PostgreSQL answers each item by a join against those rows, passed as four
arrays and read back with `unnest`. The cost in Python is teams × days in the window, never
items; the per-item work is a lookup among a few hundred rows per team.

Two expressions, usable in `.annotate()` and `.filter()`:

- `WorkingSecondsBetween(key, start, end)`: working seconds of calendar `key` in
  [start, end).
- `WorkingDeadline(key, start, seconds)`: the instant `seconds` working seconds after
  `start` (end of a working window when the work exactly fills it, as
  WorkCalendar.add).

Both give NULL when `key` has no calendar in the table or the answer lies outside the
window; callers Coalesce to the calendar-time answer or widen the window.
"""

import datetime

from django.db.models import DateTimeField, Expression, FloatField

_TABLE = (
    "unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::float8[])"
    " AS {alias}(key, lo, hi, before)"
)


class WorkTable:
    """Working intervals of several calendars over one window, flattened for SQL."""

    def __init__(self, calendars, start, end):
        """`calendars`: {key (int): WorkCalendar}; [start, end): the window covered."""
        self.start, self.end = start, end
        self.keys, self.los, self.his, self.befores = [], [], [], []
        for key, calendar in calendars.items():
            for lo, hi, before in calendar.cumulative_intervals(start, end):
                self.keys.append(key)
                self.los.append(lo)
                self.his.append(hi)
                self.befores.append(before)

    @classmethod
    def around(cls, calendars, now, *, back, ahead):
        return cls(calendars, now - back, now + ahead)

    def __len__(self):
        return len(self.keys)

    def sql(self, alias):
        return _TABLE.format(alias=alias), [self.keys, self.los, self.his, self.befores]


def _elapsed_sql(table, key, moment):
    """Working seconds from the window's start to `moment` on calendar `key`. Keys without
    a row before `moment` answer 0 only if the key is in the table at all."""
    source, params = table.sql("w")
    presence, presence_params = table.sql("p")
    # Only compiled expressions and fixed text are formatted in; every value is a param.
    sql = (
        f"CASE WHEN EXISTS (SELECT 1 FROM {presence}"  # noqa: S608
        f" WHERE p.key = {key}) THEN COALESCE(("
        f"SELECT w.before + EXTRACT(EPOCH FROM LEAST({moment}, w.hi) - w.lo)"
        f" FROM {source} WHERE w.key = {key} AND w.lo <= {moment}"
        " ORDER BY w.lo DESC LIMIT 1), 0) END"
    )
    return sql, presence_params + params


class _TableExpression(Expression):
    def __init__(self, table, *expressions, output_field):
        super().__init__(output_field=output_field)
        self.table = table
        self.expressions = list(expressions)

    def get_source_expressions(self):
        return self.expressions

    def set_source_expressions(self, expressions):
        self.expressions = list(expressions)

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, **kw):
        clone = self.copy()
        clone.is_summary = summarize
        clone.expressions = [
            expr.resolve_expression(query, allow_joins, reuse, summarize)
            for expr in self.expressions
        ]
        return clone

    def _compiled(self, compiler, connection):
        parts = [compiler.compile(expr) for expr in self.expressions]
        return [sql for sql, _ in parts], [params for _, params in parts]


class WorkingSecondsBetween(_TableExpression):
    def __init__(self, table, key, start, end):
        super().__init__(table, key, start, end, output_field=FloatField())

    def as_sql(self, compiler, connection):
        (key, start, end), (pk, ps, pe) = self._compiled(compiler, connection)
        to_end, end_params = _elapsed_sql(self.table, key, end)
        to_start, start_params = _elapsed_sql(self.table, key, start)
        # The key's SQL appears once per subquery; its params repeat with it.
        end_params = _with_key(end_params, pk, pe)
        start_params = _with_key(start_params, pk, ps)
        return f"(({to_end}) - ({to_start}))", [*end_params, *start_params]


class WorkingDeadline(_TableExpression):
    def __init__(self, table, key, start, seconds):
        super().__init__(table, key, start, seconds, output_field=DateTimeField())

    def as_sql(self, compiler, connection):
        (key, start, seconds), (pk, ps, pn) = self._compiled(compiler, connection)
        at_start, start_params = _elapsed_sql(self.table, key, start)
        source, params = self.table.sql("d")
        # Only compiled expressions and fixed text are formatted in; every value is a param.
        sql = (
            f"(CASE WHEN ({seconds}) <= 0 THEN ({start}) ELSE ("  # noqa: S608
            f"SELECT d.lo + make_interval(secs => ({at_start}) + ({seconds}) - d.before)"
            f" FROM {source} WHERE d.key = {key}"
            f" AND d.before + EXTRACT(EPOCH FROM d.hi - d.lo) >= ({at_start}) + ({seconds})"
            " ORDER BY d.lo LIMIT 1) END)"
        )
        elapsed = _with_key(start_params, pk, ps)
        return sql, [
            *pn,
            *ps,
            *elapsed,
            *pn,
            *params,
            *pk,
            *elapsed,
            *pn,
        ]


def _with_key(table_params, key_params, moment_params):
    """Params of _elapsed_sql: presence table, key, table, key, moment, moment."""
    presence, source = table_params[:4], table_params[4:]
    return [*presence, *key_params, *moment_params, *source, *key_params, *moment_params]


def window_for(now, *, oldest, ahead=datetime.timedelta(days=120)):
    """The window a scan needs: from its oldest open wait to far enough ahead for the
    longest target it may have to place."""
    return oldest - datetime.timedelta(days=1), now + ahead


# --- The same in hand-written SQL (the stall scan's raw candidate queries) -------------------
# These format SQL expressions written by the caller (column names, placeholders), never
# values: every value travels as a named param.
#
# Here each calendar is ONE row of sorted arrays (opening times, closing times, working
# seconds before each day, and after it), and an instant is placed by width_bucket, a
# binary search over the array: a lookup costs log(days) whatever the number of teams, so
# thousands of waiting items against a year of fifty calendars stay a hash join and a few
# comparisons each, not a scan of the whole table per item.


def cte(table, name="worktime"):
    """A WITH-clause entry `name(key, los, his, befores, ends)`, one row per calendar, and
    its named params, for queries written with %(name)s placeholders."""
    # MATERIALIZED: computed once per statement. Inlined (PostgreSQL inlines a CTE used
    # once), the planner put the grouping on the inner side of a nested loop and rebuilt
    # it for every waiting item: 1,487 × 0.6 ms of a 0.95 s candidate query at 100k.
    sql = (
        f"{name}(key, los, his, befores, ends) AS MATERIALIZED (SELECT key,"  # noqa: S608
        " array_agg(lo ORDER BY lo),"
        " array_agg(hi ORDER BY lo), array_agg(before ORDER BY lo),"
        " array_agg(before + EXTRACT(EPOCH FROM hi - lo)::float8 ORDER BY lo)"
        f" FROM unnest(%({name}_keys)s::bigint[], %({name}_los)s::timestamptz[],"
        f" %({name}_his)s::timestamptz[], %({name}_befores)s::float8[])"
        " AS t(key, lo, hi, before) GROUP BY key)"
    )
    params = {
        f"{name}_keys": table.keys,
        f"{name}_los": table.los,
        f"{name}_his": table.his,
        f"{name}_befores": table.befores,
    }
    return sql, params


def elapsed_sql(cal, moment):
    """SQL text: working seconds from the window's start to `moment` on the calendar row
    aliased `cal` (joined by the caller); NULL when the join found no calendar."""
    bucket = f"width_bucket({moment}, {cal}.los)"
    return (
        f"(CASE WHEN {cal}.key IS NULL THEN NULL WHEN {bucket} = 0 THEN 0::float8"
        f" ELSE {cal}.befores[{bucket}] + GREATEST(0, EXTRACT(EPOCH FROM"
        f" LEAST({moment}, {cal}.his[{bucket}]) - {cal}.los[{bucket}]))::float8 END)"
    )


def between_sql(cal, start, end):
    """SQL text: working seconds in [start, end) on calendar row `cal`; NULL without one."""
    return f"({elapsed_sql(cal, end)} - {elapsed_sql(cal, start)})"


def deadline_sql(cal, start, seconds):
    """SQL text: the instant `seconds` working seconds after `start` on calendar row `cal`;
    NULL without a calendar or beyond the window."""
    target = f"({elapsed_sql(cal, start)} + ({seconds}))"
    below = f"width_bucket({target}, {cal}.ends)"
    # The first day whose cumulative end reaches the target: work that exactly fills a
    # day is due at its close.
    day = (
        f"(CASE WHEN {below} > 0 AND {cal}.ends[{below}] = {target} THEN {below}"
        f" ELSE {below} + 1 END)"
    )
    return (
        f"(CASE WHEN ({seconds}) <= 0 THEN ({start})"
        f" ELSE {cal}.los[{day}] + make_interval(secs => {target} - {cal}.befores[{day}]) END)"
    )
