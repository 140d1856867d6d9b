"""What a log line needs to know about the work in progress: request id, store, task.

Context variables, so each gunicorn thread and each Celery task sees its own:

- ``RequestIdMiddleware`` (early in ``MIDDLEWARE``) takes the caller's ``X-Request-ID`` when
  it is safe (printable ASCII, at most 64 characters, no spaces) or makes one, keeps it for the
  request's log records and sends it back in the response's ``X-Request-ID``. The values are
  cleared when Django has finished the request (``request_finished``), after
  ``django.request`` has logged a 4xx/5xx, so that line carries the id too.
- ``set_store(code)`` is called where a POS key is authenticated (``pos.authentication``).
- Celery's ``task_prerun``/``task_postrun`` set and clear ``task_id`` and ``task_name``
  (connected in ``loyalty.celery``, so in workers and in eager mode alike).
"""

from __future__ import annotations

import contextvars
import re
import uuid

from django.core.signals import request_finished

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
store: contextvars.ContextVar[str | None] = contextvars.ContextVar("store", default=None)
task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
task_name: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_name", default=None)

HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no space, at most 64


def current() -> dict[str, str | None]:
    return {
        "request_id": request_id.get(),
        "store": store.get(),
        "task_id": task_id.get(),
        "task_name": task_name.get(),
    }


def safe_request_id(value: str | None) -> str:
    """``value`` when it may go into logs and a response header as it is, else a new id."""
    if value and _SAFE_ID.fullmatch(value) and '"' not in value and "\\" not in value:
        return value
    return uuid.uuid4().hex


def set_store(code: str | None) -> None:
    store.set(code)


def clear() -> None:
    for var in (request_id, store, task_id, task_name):
        var.set(None)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = safe_request_id(request.headers.get(HEADER))
        request_id.set(rid)
        store.set(None)
        request.request_id = rid
        response = self.get_response(request)
        response[HEADER] = rid
        return response


def _request_finished(**kwargs) -> None:
    request_id.set(None)
    store.set(None)


request_finished.connect(_request_finished, dispatch_uid="loyalty.request_context")


_task_tokens: dict[str, tuple[contextvars.Token, contextvars.Token]] = {}


def task_started(task_id_value: str | None, name: str | None) -> None:
    """A task begins: its id and name for the log records (an eager task run inside a
    request or another task restores the outer values when it ends)."""
    tokens = (task_id.set(task_id_value), task_name.set(name))
    if task_id_value:
        _task_tokens[task_id_value] = tokens


def task_finished(task_id_value: str | None) -> None:
    tokens = _task_tokens.pop(task_id_value, None) if task_id_value else None
    if tokens is None:
        task_id.set(None)
        task_name.set(None)
        return
    try:
        task_id.reset(tokens[0])
        task_name.reset(tokens[1])
    except ValueError:  # set in another context (a thread pool): just clear
        task_id.set(None)
        task_name.set(None)
