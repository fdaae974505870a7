from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scoreboard", "0005_commitment_point"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivereditemfact",
            name="cycle_working_seconds",
            field=models.FloatField(default=0),
        ),
        migrations.AddField(
            model_name="delivereditemfact",
            name="worktime_stamp",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The calendar cycle_working_seconds was counted on; empty: calendar time.",
                max_length=32,
            ),
        ),
        # Existing facts were counted on no calendar: their working time is their calendar
        # time. Workflows whose delivering team has a calendar are stale by their stamp and
        # re-derived by the next recompute.
        migrations.RunSQL(
            "UPDATE scoreboard_delivereditemfact SET cycle_working_seconds = cycle_seconds",
            migrations.RunSQL.noop,
        ),
        migrations.AddField(
            model_name="quartertarget",
            name="clock",
            field=models.CharField(
                choices=[
                    ("calendar", "Calendar time"),
                    ("working", "Working time (the delivering team's calendar)"),
                ],
                default="calendar",
                help_text="The clock of the headline and the target; the other is shown beside it.",
                max_length=10,
            ),
        ),
    ]
