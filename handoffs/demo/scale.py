"""Fast inserts for seed_demo at benchmark scale (100,000 items, a million events).

`bulk_insert` is `bulk_create` through PostgreSQL's COPY: Django's bulk_create builds
one huge INSERT statement per batch, and at a million events the statement building
and parameter binding cost more than the simulation itself. COPY streams rows instead
(measured on the 2-core machines: 1.1M events in about a fifth of bulk_create's time).
Primary keys are reserved from the table's identity sequence first, so the objects get
their pk just as bulk_create gives them one and later rows can point at them.
"""

from django.db import DEFAULT_DB_ALIAS, connections, models
from psycopg.types.json import Jsonb

# Enough rows per round trip to keep the server busy, few enough to bound memory.
COPY_CHUNK = 20000
# Fields whose Python value psycopg adapts as it is (no get_db_prep_save needed).
_PLAIN = (
    models.AutoField,
    models.BigAutoField,
    models.BooleanField,
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.FloatField,
    models.DateTimeField,
    models.DateField,
    models.DurationField,
    models.ForeignKey,
)


def bulk_insert(model, objs, *, with_pk=True):
    """Inserts unsaved model instances with COPY; sets obj.pk when with_pk (the default).

    Rows hold what bulk_create would write: auto_now fields are stamped (pre_save), JSON
    goes as jsonb, and any other field type goes through get_db_prep_save.
    """
    objs = list(objs)
    if not objs:
        return objs
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if with_pk or f is not meta.pk]
    if with_pk:
        _reserve_pks(connection, meta.db_table, meta.pk.column, objs)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    converters = [_converter(f, connection) for f in fields]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), COPY_CHUNK):
            with cursor.copy(sql) as copy:
                for obj in objs[start : start + COPY_CHUNK]:
                    copy.write_row([convert(obj) for convert in converters])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
    return objs


def _converter(field, connection):
    """obj → the value COPY writes for this field (the fast common cases first)."""
    attname = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, add=True)
    if isinstance(field, models.JSONField) and field.encoder is None:
        return lambda obj: Jsonb(getattr(obj, attname))
    if isinstance(field, _PLAIN) and not isinstance(field, models.DecimalField):
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def _reserve_pks(connection, table, column, objs):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk


def seed_analyze(ctx):
    """seed_demo step: fresh planner statistics for the tables seed_items just filled.

    Every later step (and the snapshot rebuild at the end) runs in the same transaction,
    before autovacuum could notice the new rows; with the empty tables' statistics the
    planner picks nested loops over a million events (minutes instead of seconds).
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        for table in ("handoffs_workitem", "handoffs_event", "handoffs_recovery"):
            cursor.execute(f"ANALYZE {table}")  # fixed table names
