"""Campaign tests: tasks run in-process (also when the suite runs with a broker: the worker
tests start their own worker), and helpers to build campaigns and run a day."""

from __future__ import annotations

import pytest

from loyalty.celery import app


@pytest.fixture(autouse=True)
def _eager_tasks(request):
    """Delivery tasks queued by a service run in this process, unless the test starts a real
    worker (marker ``worker``)."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def run_day(django_capture_on_commit_callbacks):
    """``run_day(date, at=time)``: the campaigns' daily job for that day at that local time
    (frozen clock), its delivery tasks run after commit as a worker would."""
    from tests.campaigns.campaign_helpers import run_campaigns_day

    def run(day, **kwargs):
        return run_campaigns_day(day, django_capture_on_commit_callbacks, **kwargs)

    return run
