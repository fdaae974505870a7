"""What the handoffs app tells the apps that read it, without importing them: they connect
their receivers in their AppConfig.ready() (scoreboard/apps.py)."""

from django.dispatch import Signal

# Sent inside the transaction that delivered the items, or took a delivery back inside its
# undo window, with `item_ids`; a receiver that enqueues work does so on commit
# (opshub.lib.tasks.enqueue_on_commit).
items_delivered = Signal()

# Sent inside the transaction that asked for a red decision, with `decision` and `team` (the
# team that approves it); the stalls area posts it to the chat channels that subscribe
# (handoffs/stalls/posts.py, connected in handoffs/apps.py).
decision_requested = Signal()

# Sent inside the transaction of a handoff, with `item` (now waiting for its receiving team to
# accept it) and `event` (the handoff's event); posted to that team's channels the same way.
handoff_waiting = Signal()

# Sent inside the transaction that deactivates `person`, after their open items and
# recoveries went to `reassign_to` (a User, or None for nobody), with `by` (who deactivates)
# and `at`. A receiver hands on what it keeps for that person and returns
# {"what": how many} for the summary ("2 action item(s)"); see reviews/hooks.py.
person_deactivated = Signal()

# Sent while an item's page is built, with `item` (read for its page) and `viewer`; a
# receiver returns the HTML of a panel for the page's side column (rendered by a template,
# so escaped), or None. The scoreboard adds the delivery forecast (scoreboard/hooks.py).
item_page_panels = Signal()
