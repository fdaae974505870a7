from django.apps import AppConfig


class HandoffsConfig(AppConfig):
    name = "handoffs"
    verbose_name = "Handoffs"

    def ready(self):
        # Imported here, not at the top: task modules import models, which must be loaded
        # first. Registering every area's tasks at startup lets a task named by string (the
        # outbox's, the webhooks') resolve in any process, web and tests included.
        from handoffs import tasks  # noqa: F401
        from handoffs.signals import decision_requested, handoff_waiting
        from handoffs.stalls import posts

        # The lower areas announce; the stalls area posts to chat channels (posts.py).
        decision_requested.connect(posts.post_decision_request, dispatch_uid="channel-decision")
        handoff_waiting.connect(posts.post_handoff_waiting, dispatch_uid="channel-handoff")
