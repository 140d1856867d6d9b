"""Prometheus metrics: the business counters, Celery task outcomes and the ``/metrics`` view.

HTTP requests and latency by view come from django-prometheus's middlewares (settings).
The counters here are incremented in-process once the transaction has committed (no query,
nothing on the purchase path but a callback), by the services that move points:

- ``loyalty_purchases_recorded_total``: purchases recorded through the POS API (a replay
  of the same receipt does not count again);
- ``loyalty_points_issued_total{kind}``: points credited (earn, bonus, adjust);
- ``loyalty_points_spent_total``: points spent (paying part of a purchase, rewards);
- ``loyalty_celery_tasks_total{task,outcome}``: success, failure, retry per task name.

Several processes: with ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client keeps each
process's values in files there and ``/metrics`` adds them up (``gunicorn.conf.py`` sets it
for the web). A Celery worker serves its own on ``CELERY_METRICS_PORT`` (see
``start_worker_metrics_server``; README "Operations").
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import shutil
from pathlib import Path

from prometheus_client import Counter

logger = logging.getLogger(__name__)

# In multiprocess mode every process writes its values under PROMETHEUS_MULTIPROC_DIR, which
# must exist before the first counter: a management command run with the web's environment
# (migrate before gunicorn has started, on a fresh host) would otherwise fail to start.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

PURCHASES = Counter(
    "loyalty_purchases_recorded", "Purchases recorded through the POS API (not replays)."
)
POINTS_ISSUED = Counter("loyalty_points_issued", "Points credited to members.", ["kind"])
POINTS_SPENT = Counter("loyalty_points_spent", "Points spent or redeemed by members.")
TASKS = Counter("loyalty_celery_tasks", "Celery task outcomes by task name.", ["task", "outcome"])


def _after_commit(func) -> None:
    from django.db import transaction

    transaction.on_commit(func)  # at once when no transaction is open


def purchase_recorded() -> None:
    _after_commit(PURCHASES.inc)


def points_issued(points: int, *, kind: str) -> None:
    if points > 0:
        _after_commit(lambda: POINTS_ISSUED.labels(kind=kind).inc(points))


def points_spent(points: int) -> None:
    if points > 0:
        _after_commit(lambda: POINTS_SPENT.inc(points))


# --- Celery -----------------------------------------------------------------------------


def _task_name(sender) -> str:
    name = getattr(sender, "name", None) or str(sender or "unknown")
    return name[:200]


def _on_success(sender=None, **kwargs):
    TASKS.labels(task=_task_name(sender), outcome="success").inc()


def _on_failure(sender=None, **kwargs):
    TASKS.labels(task=_task_name(sender), outcome="failure").inc()


def _on_retry(sender=None, **kwargs):
    TASKS.labels(task=_task_name(sender), outcome="retry").inc()


def _on_worker_init(**kwargs):
    clear_multiprocess_dir()
    start_worker_metrics_server()


def _on_child_exit(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def connect_celery_signals() -> None:
    from celery import signals

    signals.task_success.connect(_on_success, weak=False, dispatch_uid="loyalty.metrics.ok")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="loyalty.metrics.fail")
    signals.task_retry.connect(_on_retry, weak=False, dispatch_uid="loyalty.metrics.retry")
    signals.worker_init.connect(_on_worker_init, weak=False, dispatch_uid="loyalty.metrics.init")
    signals.worker_process_shutdown.connect(
        _on_child_exit, weak=False, dispatch_uid="loyalty.metrics.child"
    )


def clear_multiprocess_dir() -> None:
    """Empty ``PROMETHEUS_MULTIPROC_DIR`` (once, when the parent process starts): values of
    processes from an earlier start would otherwise be added to this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    own = f"_{os.getpid()}.db"  # this process's own files, open already (a solo worker)
    if path.is_dir():
        for child in path.iterdir():
            if child.name.endswith(own):
                continue
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    path.mkdir(parents=True, exist_ok=True)


def registry():
    """The registry to export: every process's values in multiprocess mode."""
    import prometheus_client
    from prometheus_client import multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return prometheus_client.REGISTRY


def start_worker_metrics_server() -> int | None:
    """In a Celery worker's main process: serve ``/metrics`` on ``CELERY_METRICS_PORT``
    (address ``CELERY_METRICS_ADDRESS``, default 127.0.0.1). The prefork children write to
    ``PROMETHEUS_MULTIPROC_DIR``, which must then be set for the worker (a directory of its
    own, not the web's)."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return None
    from prometheus_client import start_http_server

    address = os.environ.get("CELERY_METRICS_ADDRESS", "127.0.0.1")
    start_http_server(int(port), addr=address, registry=registry())
    logger.info("worker metrics on %s:%s", address, port)
    return int(port)


# --- /metrics ---------------------------------------------------------------------------

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _allowed(request) -> bool:
    from django.conf import settings

    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _sep, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    # Through a reverse proxy every caller looks local: only a direct scrape counts.
    if any(request.META.get(name) for name in _PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    """Prometheus' scrape: 404 (as if absent) unless from an allowed address or token."""
    from django.http import Http404, HttpResponse
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if not _allowed(request):
        raise Http404
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
