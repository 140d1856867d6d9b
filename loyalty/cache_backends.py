"""The Redis cache, failing open: while Redis is unreachable every call behaves as a miss.

What the platform keeps in the shared cache is rate-limit history only (the POS key
throttle's window counter, allauth's login limits and its used-TOTP-code marks); sessions
live in the database and the programme's rules in each process (``loyalty.cache``). A miss
is safe for all of them: a throttle or a rate limit that sees no history lets the request
through. So a Redis outage must not stop a till or the portal's login: each operation
catches Redis's connection and timeout errors, logs (at most once a minute per process,
naming the operation only: keys may be derived from an email) and answers as a miss:

- ``get`` the default, ``get_many`` nothing, ``has_key`` and ``touch`` False, ``delete``
  False;
- ``add`` True (nothing was there: an allauth cache lock is taken, a TOTP code counts as
  unused), ``set``/``set_many``/``delete_many``/``clear`` do nothing;
- ``incr``/``decr`` raise ``ValueError`` as for a missing key (the throttle then starts a
  new window).

After a failure the next calls skip Redis for ``RETRY_SECONDS`` (a Redis that hangs would
otherwise cost every request its socket timeout). Other Redis errors (a wrong type, a
script error) are bugs and still raise. ``/healthz`` still reports the cache down: its probe
writes then reads a value back and finds a miss.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
LOG_EVERY_SECONDS = 60.0
RETRY_SECONDS = 2.0

# Per process (Django makes one backend object per thread): when Redis is next tried, and
# when the outage was last logged.
_state_lock = threading.Lock()
_state = {"skip_until": 0.0, "logged_at": None}
_now = time.monotonic  # the clock (a test moves it)


def cache_unavailable(operation: str, exc: BaseException | None) -> None:
    """Note that the cache failed (``exc``; None: skipped after a recent failure) and log it,
    at most once a minute per process."""
    now = _now()
    with _state_lock:
        if exc is not None:
            _state["skip_until"] = now + RETRY_SECONDS
        logged_at = _state["logged_at"]
        if logged_at is not None and now - logged_at < LOG_EVERY_SECONDS:
            return
        _state["logged_at"] = now
    logger.warning(
        "cache unavailable (%s during %s): rate limits fail open until it is back",
        type(exc).__name__ if exc is not None else "recent failure",
        operation,
    )


def _skipping() -> bool:
    return _now() < _state["skip_until"]


def reset_state() -> None:
    """Forget a past outage (tests)."""
    with _state_lock:
        _state["skip_until"] = 0.0
        _state["logged_at"] = None


class _Miss(Exception):
    pass


class FailOpenRedisCache(RedisCache):
    def _call(self, operation: str, func, *args, **kwargs):
        if _skipping():
            cache_unavailable(operation, None)
            raise _Miss
        try:
            return func(*args, **kwargs)
        except UNAVAILABLE as exc:
            cache_unavailable(operation, exc)
            raise _Miss from None

    def get(self, key, default=None, version=None):
        try:
            return self._call("get", super().get, key, default, version)
        except _Miss:
            return default

    def get_many(self, keys, version=None):
        try:
            return self._call("get_many", super().get_many, keys, version)
        except _Miss:
            return {}

    def has_key(self, key, version=None):
        try:
            return self._call("has_key", super().has_key, key, version)
        except _Miss:
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._call("add", super().add, key, value, timeout, version)
        except _Miss:
            return True

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            self._call("set", super().set, key, value, timeout, version)
        except _Miss:
            return None

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._call("set_many", super().set_many, data, timeout, version)
        except _Miss:
            return []

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._call("touch", super().touch, key, timeout, version)
        except _Miss:
            return False

    def delete(self, key, version=None):
        try:
            return self._call("delete", super().delete, key, version)
        except _Miss:
            return False

    def delete_many(self, keys, version=None):
        try:
            self._call("delete_many", super().delete_many, keys, version)
        except _Miss:
            return None

    def incr(self, key, delta=1, version=None):
        try:
            return self._call("incr", super().incr, key, delta, version)
        except _Miss:
            raise ValueError("Key not found (cache unavailable)") from None

    def clear(self):
        try:
            return self._call("clear", super().clear)
        except _Miss:
            return False
