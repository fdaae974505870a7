"""What the scoreboard needs to hear about from the rest of the app."""


def item_delivered(item):
    """Called inside the delivering transaction; enqueues the snapshot update on commit."""
