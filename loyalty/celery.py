"""The Celery application. Worker: ``celery -A loyalty worker``; beat: ``celery -A loyalty beat``.

Settings live in ``loyalty.settings`` under the ``CELERY_`` prefix (acks late, reject on worker
loss, JSON only, time limits, the beat schedule at local times).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

app = Celery("loyalty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
