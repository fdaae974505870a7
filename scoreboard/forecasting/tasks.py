"""Keeps the workflows' forecast models warm, then rewrites the open items' stored 85% dates
(the due-date risk). Safe to run twice: each run rebuilds the same models from the event
log and overwrites the cached copies and the stored rows."""

from celery import shared_task

from scoreboard.forecasting.due import refresh_due_forecasts
from scoreboard.forecasting.live import warm_models


@shared_task(name="scoreboard.forecast_warm")
def forecast_warm_task():
    return {"models": warm_models(), "due_forecasts": refresh_due_forecasts()}
