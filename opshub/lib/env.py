"""Typed readers for configuration that comes from the environment.

Every reader raises ImproperlyConfigured with the variable's name when a value
is malformed, so a typo in production fails at start-up instead of later.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None, *, required=False):
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}.")


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from None


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_map(name, default=""):
    """Comma-separated `key=value` pairs, "admins=admin,leads=lead" → {"admins": "admin", ...}."""
    raw = os.environ.get(name, default)
    pairs = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(
                f"{name} must be comma-separated key=value pairs, got {part.strip()!r}."
            )
        pairs[key.strip()] = value.strip()
    return pairs


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def env_rate(name, default):
    """A rate limit written as a count per period, "600/min" → (600, 60 seconds)."""
    raw = os.environ.get(name) or default
    count, _, period = raw.strip().partition("/")
    seconds = _PERIODS.get(period.strip().lower())
    if not count.strip().isdigit() or int(count) < 1 or seconds is None:
        raise ImproperlyConfigured(
            f"{name} must be a count per period, like 600/min (s, min, hour or day), got {raw!r}."
        )
    return int(count), seconds


def parse_database_url(url, *, name="DATABASE_URL"):
    """postgres://user:pass@host:port/db, or pgserver's socket form ?host=/dir."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name} must be a PostgreSQL URL (postgres://user@host:port/name), got {url!r}."
        )
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    db_name = unquote(parts.path.lstrip("/"))
    if not db_name:
        raise ImproperlyConfigured(f"{name} must name a database, got {url!r}.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {url!r}.") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": db_name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
    }


def parse_redis_url(url, *, name="REDIS_URL"):
    """Returns (url for redis-py, url for Celery's broker).

    redis-py speaks unix:///path.sock; kombu wants redis+socket:///path.sock.
    """
    parts = urlsplit(url)
    if parts.scheme in {"redis", "rediss"}:
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name} must name a host, got {url!r}.")
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port: {url!r}.") from None
        return url, url
    if parts.scheme == "unix":
        if not parts.path:
            raise ImproperlyConfigured(f"{name} must name a socket path, got {url!r}.")
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return f"unix://{parts.path}?db={db}", f"redis+socket://{parts.path}?virtual_host={db}"
    raise ImproperlyConfigured(
        f"{name} must be redis://host:port/db or unix:///path/to/redis.sock, got {url!r}."
    )


def parse_email_url(url, *, name="EMAIL_URL"):
    """smtp://user:pass@host:port, smtp+tls://…, smtp+ssl://…, console:// or locmem://."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "locmem":
        return {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parts.scheme not in {"smtp", "smtp+tls", "smtp+ssl"}:
        raise ImproperlyConfigured(
            f"{name} must be smtp://host:port (or smtp+tls, smtp+ssl, console), got {url!r}."
        )
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name} must name a host, got {url!r}.")
    try:
        port = parts.port or (465 if parts.scheme == "smtp+ssl" else 25)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {url!r}.") from None
    options = {
        "host": parts.hostname,
        "port": port,
        "use_tls": parts.scheme == "smtp+tls",
        "use_ssl": parts.scheme == "smtp+ssl",
        "timeout": 10,
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
