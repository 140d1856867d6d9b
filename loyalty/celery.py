"""The Celery application. Worker: ``celery -A loyalty worker``; beat: ``celery -A loyalty beat``.

Settings live in ``loyalty.settings`` under the ``CELERY_`` prefix (acks late, reject on worker
loss, JSON only, time limits, the beat schedule at local times).
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

app = Celery("loyalty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Operations: the task's id and name on every log record of the task, Django's LOGGING
# (JSON, masked) in workers and beat instead of Celery's own set-up, task outcome metrics.
@signals.setup_logging.connect(weak=False)
def _use_django_logging(**kwargs):
    """Connected, so Celery leaves logging alone; Django's ``LOGGING`` applies instead."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.task_prerun.connect(weak=False)
def _task_context_start(task_id=None, task=None, **kwargs):
    from loyalty import request_context

    request_context.task_started(task_id, getattr(task, "name", None))


@signals.task_postrun.connect(weak=False)
def _task_context_end(task_id=None, **kwargs):
    from loyalty import request_context

    request_context.task_finished(task_id)


@signals.task_success.connect(weak=False)
def _record_nightly_run(sender=None, result=None, **kwargs):
    from loyalty import health

    health.on_task_success(sender=sender, result=result)


def _connect_metrics():
    from loyalty import metrics

    metrics.connect_celery_signals()


_connect_metrics()
