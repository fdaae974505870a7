from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0013_move_notification_emails"),
    ]

    operations = [
        migrations.DeleteModel(name="NotificationEmail"),
    ]
