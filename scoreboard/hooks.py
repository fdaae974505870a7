"""What the scoreboard hears from the handoffs app (handoffs/signals.py), connected in
ScoreboardConfig.ready()."""

from django.template.loader import render_to_string

from opshub.lib.tasks import enqueue_on_commit
from scoreboard.forecasting import live
from scoreboard.tasks import snapshot_update_task


def items_delivered(sender, *, item_ids, **kwargs):
    """Inside the delivering transaction: the snapshot update is enqueued on commit."""
    enqueue_on_commit(snapshot_update_task, list(item_ids))


def item_page_panels(sender, *, item, viewer, **kwargs):
    """The delivery forecast on an open item's page: rendered with the page when the
    workflow's model is built (a millisecond; a second request for it was a fifth of the
    page's time, `make bench`), else loaded after the page, where it is built."""
    if not item.is_open:
        return None
    forecast = live.item_forecast(item, built_only=True)
    template = "scoreboard/forecasting/workitem_forecast.html"
    if forecast is None:
        return render_to_string(f"{template}#loading", {"item": item})
    return render_to_string(f"{template}#forecast", {"item": item, "forecast": forecast})
