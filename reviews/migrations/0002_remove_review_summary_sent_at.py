"""The review summary is an outbox email now (handoffs.EmailDelivery, kind review_summary)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_breakage_review"),
    ]

    operations = [
        migrations.RemoveField(model_name="review", name="summary_sent_at"),
    ]
