# Soft delete of webhook subscriptions (their delivery log stays readable) and updated_at
# on subscriptions and intake sources for the API's `updated_since` filter. auto_now
# fields fill existing rows with the migration's time.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0006_integrations"),
    ]

    operations = [
        migrations.AddField(
            model_name="intakesource",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
