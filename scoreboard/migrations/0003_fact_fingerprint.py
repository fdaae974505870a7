"""A fingerprint per delivered-item fact (its events' count and last id), so the full
recompute re-derives only the items whose inputs changed.

The one input that is not an event or the item itself is the kind of the stages
(active time counts only in stages of kind active): a trigger clears the fingerprint of
every item with time in a stage whose kind changes, so the next recompute re-derives it.
Existing facts start without a fingerprint: the first recompute re-derives them all.
"""

from django.db import migrations, models

SQL = """
CREATE OR REPLACE FUNCTION scoreboard_stage_kind_changed() RETURNS trigger AS $$
BEGIN
    UPDATE scoreboard_delivereditemfact SET last_event_id = NULL
    WHERE item_id IN (SELECT item_id FROM scoreboard_stagetimefact WHERE stage_id = NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER scoreboard_stage_kind_changed
    AFTER UPDATE OF kind ON handoffs_stage
    FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION scoreboard_stage_kind_changed();
"""

REVERSE = """
DROP TRIGGER IF EXISTS scoreboard_stage_kind_changed ON handoffs_stage;
DROP FUNCTION IF EXISTS scoreboard_stage_kind_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("scoreboard", "0002_fact_delivered_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivereditemfact",
            name="event_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="delivereditemfact",
            name="last_event_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
