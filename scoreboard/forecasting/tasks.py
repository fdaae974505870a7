"""Keeps the workflows' forecast models warm. Safe to run twice: each run rebuilds the same
models from the event log and overwrites the cached copies."""

from celery import shared_task

from scoreboard.forecasting.live import warm_models


@shared_task(name="scoreboard.forecast_warm")
def forecast_warm_task():
    return warm_models()
