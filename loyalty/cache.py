"""A small in-process cache for what rarely changes and is read on every POS request: the
programme's rules, the tier table, API keys. Each web process keeps its own copy for
``LOYALTY_RULES_CACHE_SECONDS`` (default 30); saving a cached model clears the copy of the
process that saved it at once (signals), and the other processes within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[str, tuple[float, object]] = {}


def cached(key: str, loader: Callable[[], T]) -> T:
    ttl = settings.LOYALTY_RULES_CACHE_SECONDS
    if ttl <= 0:
        return loader()
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]  # type: ignore[return-value]
    value = loader()
    with _lock:
        _entries[key] = (now + ttl, value)
    return value


def forget(prefix: str = "") -> None:
    """Drop the entries whose key starts with ``prefix`` (all of them by default)."""
    with _lock:
        for key in [k for k in _entries if k.startswith(prefix)]:
            del _entries[key]


def forget_on_change(model, prefix: str) -> None:
    """Clear ``prefix`` whenever a row of ``model`` is saved or deleted in this process."""
    from django.db.models.signals import post_delete, post_save

    def receiver(**kwargs):
        forget(prefix)

    uid = f"loyalty.cache:{model._meta.label}:{prefix}"
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=uid + ":save")
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=uid + ":delete")
