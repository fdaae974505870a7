"""Pending NotificationEmail rows move into the one outbox.

Pending immediate ones are composed into EmailDelivery rows (the outbox sweep sends them);
pending digest ones become notifications awaiting the digest; every notification keeps the
detail its email carried. Rows already sent stay history only on their notification.
"""

from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations
from django.template.loader import render_to_string
from django.utils import timezone


def _short_name(user):
    return user.full_name.split(" ")[0] if user.full_name else user.email


def move_pending_notification_emails(apps, schema_editor):
    NotificationEmail = apps.get_model("handoffs", "NotificationEmail")
    Notification = apps.get_model("handoffs", "Notification")
    EmailDelivery = apps.get_model("handoffs", "EmailDelivery")
    schema_editor.execute(
        "UPDATE handoffs_notification n SET body = e.body FROM handoffs_notificationemail e "
        "WHERE e.notification_id = n.id AND e.body <> ''"
    )
    pending = NotificationEmail.objects.filter(sent_at=None)
    Notification.objects.filter(
        pk__in=pending.filter(delivery="digest", user__is_active=True).values("notification_id")
    ).update(awaits_digest=True)
    base_url = settings.OPSHUB_BASE_URL
    domain = urlsplit(base_url).hostname or "opshub.local"
    now = timezone.now()
    rows = (
        pending.filter(delivery="immediate", user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "notification")
        .order_by("pk")
    )
    for email in rows.iterator(chunk_size=500):
        note, user = email.notification, email.user
        context = {
            "user": {
                "get_short_name": _short_name(user),
                "get_email_delivery_display": "Immediately",
            },
            "message": note.message,
            "body": email.body,
            "subject": email.subject,
            "link": f"{base_url}{note.url}" if note.url else "",
            "base_url": base_url,
        }
        delivery = EmailDelivery.objects.create(
            recipient=user,
            to_email=user.email,
            kind="notification",
            subject=email.subject,
            body_text=render_to_string("handoffs/email/notification.txt", context),
            body_html=render_to_string("handoffs/email/notification.html", context),
            message_id=make_msgid(domain=domain),
            created_at=email.created_at,
            next_attempt_at=now,
        )
        Notification.objects.filter(pk=note.pk).update(email=delivery)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("handoffs", "0012_one_outbox"),
    ]

    operations = [
        migrations.RunPython(move_pending_notification_emails, migrations.RunPython.noop),
    ]
