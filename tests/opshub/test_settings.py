import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from opshub.lib import env


@pytest.fixture
def environ(monkeypatch):
    def set_(**values):
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    return set_


def test_booleans_parse_and_bad_values_fail_loudly(environ):
    environ(FLAG="yes", OTHER="0", BAD="maybe")
    assert env.env_bool("FLAG") is True
    assert env.env_bool("OTHER") is False
    with pytest.raises(ImproperlyConfigured, match="BAD must be a boolean"):
        env.env_bool("BAD")


def test_integers_fail_loudly(environ):
    environ(N="twelve")
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env.env_int("N", 3)


def test_database_urls_tcp_and_socket():
    tcp = env.parse_database_url("postgres://app:s%40cret@db.internal:6543/opshub")
    assert (tcp["HOST"], tcp["PORT"], tcp["USER"], tcp["PASSWORD"], tcp["NAME"]) == (
        "db.internal",
        "6543",
        "app",
        "s@cret",
        "opshub",
    )
    sock = env.parse_database_url("postgresql://postgres:@/postgres?host=/tmp/pg")
    assert (sock["HOST"], sock["NAME"]) == ("/tmp/pg", "postgres")


@pytest.mark.parametrize(
    "url",
    ["mysql://x@h/db", "sqlite:///opshub.db", "postgres://h:notaport/db", "postgres://h:5432/"],
)
def test_bad_database_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.parse_database_url(url)


def test_redis_urls_give_cache_and_broker_forms():
    assert env.parse_redis_url("redis://127.0.0.1:6379/2") == (
        "redis://127.0.0.1:6379/2",
        "redis://127.0.0.1:6379/2",
    )
    cache, broker = env.parse_redis_url("unix:///tmp/r/redis.sock")
    assert cache == "unix:///tmp/r/redis.sock?db=0"
    assert broker.startswith("redis+socket:///tmp/r/redis.sock")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env.parse_redis_url("http://localhost")


def test_email_url_becomes_a_mailer():
    mailer = env.parse_email_url("smtp+tls://me:pw@mail.example.com:587")
    assert mailer["BACKEND"].endswith("smtp.EmailBackend")
    assert mailer["OPTIONS"]["use_tls"] and mailer["OPTIONS"]["port"] == 587
    assert mailer["OPTIONS"]["username"] == "me"
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env.parse_email_url("carrier-pigeon://coop")


def _django_check(**overrides):
    dropped = {"OPSHUB_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env_vars = {k: v for k, v in os.environ.items() if k not in dropped}
    env_vars.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env_vars,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _django_check(DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_malformed_debug_flag():
    result = _django_check(DEBUG="perhaps", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_check_deploy_is_clean_with_debug_off_and_real_secrets():
    result = _django_check(
        DEBUG="false",
        SECRET_KEY="k3#9-real-production-secret-" + "z" * 40,
        ALLOWED_HOSTS="opshub.example.com",
        OPSHUB_BASE_URL="https://opshub.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
