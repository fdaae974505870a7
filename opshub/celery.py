import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opshub.settings")

app = Celery("opshub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="opshub.ping")
def ping_task():
    """Proves a worker is consuming: records a heartbeat that admins and tests can read."""
    from handoffs.models import Heartbeat

    Heartbeat.beat("worker_ping")
    return "pong"
