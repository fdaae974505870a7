"""The gunicorn settings module the image, compose, `make bench` and the load script use."""

import gc
import subprocess
import sys

from gunicorn.config import Config

from opshub import gunicorn as settings


def test_gunicorn_reads_the_module_and_its_worker_hook():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "python:opshub.gunicorn", "--check-config"]
        + ["opshub.wsgi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # gunicorn skips names that are not its settings: a misspelt hook would never run.
    hooks = {name for name in vars(settings) if callable(getattr(settings, name))}
    assert hooks == {"post_worker_init"} and hooks <= set(Config().settings)


def test_a_worker_freezes_what_the_app_import_created():
    try:
        settings.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
