"""Cache access that degrades: Redis is a scratch pad here, so an outage must cost a retry
or a slower page, never a 500. /healthz still reports it as down."""

import logging
import time

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def cache_get(key, default=None):
    try:
        return cache.get(key, default)
    except (RedisError, OSError) as exc:
        logger.warning("cache unreachable on get", extra={"error": str(exc)})
        return default


def cache_set(key, value, timeout):
    """True when stored; False when the cache is unreachable (the caller says so)."""
    try:
        cache.set(key, value, timeout)
    except (RedisError, OSError) as exc:
        logger.warning("cache unreachable on set", extra={"error": str(exc)})
        return False
    return True


def cache_delete(key):
    try:
        cache.delete(key)
    except (RedisError, OSError) as exc:
        logger.warning("cache unreachable on delete", extra={"error": str(exc)})


def cache_add(key, value, timeout):
    """True when stored because the key was free (a claim); False when taken or unreachable."""
    try:
        return cache.add(key, value, timeout)
    except (RedisError, OSError) as exc:
        logger.warning("cache unreachable on add", extra={"error": str(exc)})
        return False


def count_in_window(name, seconds):
    """Counts one more hit in `name`'s current fixed window of `seconds`: returns the window's
    count so far and the seconds until it ends, or (None, 0) when Redis is unreachable.

    INCR and EXPIRE run in one MULTI, so every process counts into the same integer and no
    key outlives its window (a get-then-set history, as DRF's SimpleRateThrottle keeps,
    loses hits when two requests arrive together).
    """
    now = time.time()
    window = int(now // seconds)
    key = cache.make_key(f"{name}:{window}")
    try:
        pipe = cache._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, seconds + 1)
        count, _ = pipe.execute()
    except (RedisError, OSError) as exc:
        logger.warning("cache unreachable on count", extra={"error": str(exc)})
        return None, 0
    return count, (window + 1) * seconds - now
