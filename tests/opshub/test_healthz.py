import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_redis_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"


def test_healthz_answers_503_when_redis_is_unreachable(client, settings):
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    caches._settings = None
    try:
        caches.__init__()
        response = client.get("/healthz")
    finally:
        caches.__init__()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["reason"]
    assert body["checks"]["database"]["status"] == "ok"


def test_healthz_needs_no_login(client):
    assert client.get("/healthz").status_code in (200, 503)


def test_healthz_answers_503_when_the_database_is_unreachable():
    """A separate process whose DATABASE_URL points at a port nothing listens on."""
    import os
    import subprocess
    import sys

    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(r.status_code, json.dumps(r.json()))"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "opshub.settings",
        "CONN_MAX_AGE": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    assert status == "503", result.stdout + result.stderr
    assert '"database": {"status": "down"' in body
    assert '"scheduler": {"status": "unknown"}' in body
