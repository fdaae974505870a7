"""What the handoffs app tells the apps that read it, without importing them: they connect
their receivers in their AppConfig.ready() (scoreboard/apps.py)."""

from django.dispatch import Signal

# Sent inside the transaction that delivered the items, with `item_ids`; a receiver that
# enqueues work does so on commit (opshub.lib.tasks.enqueue_on_commit).
items_delivered = Signal()
