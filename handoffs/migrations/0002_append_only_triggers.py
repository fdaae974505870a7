"""Database-level guarantees that Python code cannot bypass.

- handoffs_event is append-only: UPDATE and DELETE raise.
- a published handoffs_protocolversion is immutable: UPDATE and DELETE raise.
  (Deleting a whole workflow is refused as well while published versions exist.)
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION opshub_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'handoffs_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER event_append_only
    BEFORE UPDATE OR DELETE ON handoffs_event
    FOR EACH ROW EXECUTE FUNCTION opshub_event_append_only();

CREATE OR REPLACE FUNCTION opshub_protocol_published_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'published protocol version % is immutable: % is not allowed',
            OLD.id, TG_OP USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER protocol_published_immutable
    BEFORE UPDATE OR DELETE ON handoffs_protocolversion
    FOR EACH ROW EXECUTE FUNCTION opshub_protocol_published_immutable();
"""

REVERSE = """
DROP TRIGGER IF EXISTS event_append_only ON handoffs_event;
DROP FUNCTION IF EXISTS opshub_event_append_only();
DROP TRIGGER IF EXISTS protocol_published_immutable ON handoffs_protocolversion;
DROP FUNCTION IF EXISTS opshub_protocol_published_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
