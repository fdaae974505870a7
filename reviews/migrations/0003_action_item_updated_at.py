from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_remove_review_summary_sent_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="actionitem",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        # Existing rows: their last known change, not the migration's time.
        migrations.RunSQL(
            "UPDATE reviews_actionitem SET updated_at = COALESCE(closed_at, created_at)",
            migrations.RunSQL.noop,
        ),
    ]
