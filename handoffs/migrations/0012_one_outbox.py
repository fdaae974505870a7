"""One outbox for every email: EmailDelivery gains the notification and review-summary
kinds; a Notification records its email and whether it waits for the daily digest.
0013 moves the old notification outbox's rows in; 0014 drops it. Each runs in its own
transaction (PostgreSQL refuses DDL on a table with row changes pending in the same one)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0011_notification_email_lease"),
    ]

    operations = [
        migrations.AlterField(
            model_name="emaildelivery",
            name="kind",
            field=models.CharField(
                choices=[
                    ("stall", "Stall alert"),
                    ("digest", "Daily digest"),
                    ("notification", "Notification"),
                    ("review_summary", "Review summary"),
                    ("test", "Test alert"),
                ],
                default="stall",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="body",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="notification",
            name="email",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="notifications",
                to="handoffs.emaildelivery",
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="awaits_digest",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("awaits_digest", True)),
                fields=["user", "created_at"],
                name="notification_digest_pending",
            ),
        ),
    ]
