"""Single-run locks: a periodic job started while another copy runs skips (and logs), a lease
whose holder died is taken over once it expires, and a live holder keeps it."""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from campaigns import tasks as campaign_tasks
from loyalty import daily
from loyalty.models import JobLease
from loyalty.single_run import lease_acquire, lease_release, lease_renew, single_run
from loyalty.tasks import run_daily_jobs as run_daily_jobs_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(daily, "_registry", {})
    return daily


def test_a_held_lease_is_not_given_to_a_second_holder_until_released():
    first = lease_acquire("job")
    assert first
    assert lease_acquire("job") is None
    lease_release("job", first)
    assert lease_acquire("job")


def test_a_dead_holders_lease_is_taken_over_once_it_expires(settings):
    settings.SINGLE_RUN_LEASE_SECONDS = 120
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        dead = lease_acquire("job")  # its process is then killed: it never releases
        clock.shift(timedelta(seconds=119))
        assert lease_acquire("job") is None
        clock.shift(timedelta(seconds=2))
        taker = lease_acquire("job")
    assert taker and taker != dead
    assert JobLease.objects.get(name="job").holder == taker


def test_renewing_keeps_the_lease_and_a_former_holder_cannot_renew(settings):
    settings.SINGLE_RUN_LEASE_SECONDS = 120
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        holder = lease_acquire("job")
        clock.shift(timedelta(seconds=100))
        assert lease_renew("job", holder)
        clock.shift(timedelta(seconds=100))  # 200 s after taking it, 100 after renewing
        assert lease_acquire("job") is None
        clock.shift(timedelta(seconds=21))
        other = lease_acquire("job")
    assert other
    assert not lease_renew("job", holder)


def test_single_run_skips_and_logs_when_another_copy_runs(caplog):
    with single_run("job") as first:
        with (
            caplog.at_level(logging.WARNING, logger="loyalty.single_run"),
            single_run("job") as second,
        ):
            assert not second
        assert first
    assert "already running elsewhere" in caplog.text
    with single_run("job") as again:  # released when the first finished
        assert again


def test_the_lease_is_released_when_the_job_raises():
    with pytest.raises(ValueError), single_run("job"):
        raise ValueError("boom")
    with single_run("job") as mine:
        assert mine


def test_daily_jobs_started_while_a_run_is_in_progress_run_nothing(registry, caplog):
    seen = []
    registry.register("a.job", order=1)(lambda today: seen.append(today))
    holder = lease_acquire(daily.LEASE)
    with caplog.at_level(logging.WARNING, logger="loyalty.single_run"):
        run = registry.run_daily_jobs(today=date(2026, 5, 1))
    assert run.skipped and run.outcomes == [] and seen == []
    assert run.as_dict()["skipped"] is True
    assert "daily" in caplog.text
    lease_release(daily.LEASE, holder)
    assert not registry.run_daily_jobs(today=date(2026, 5, 1)).skipped
    assert seen == [date(2026, 5, 1)]


def test_the_daily_task_that_skips_is_not_a_successful_nightly_run(registry):
    from loyalty.models import NightlyRun

    registry.register("a.job", order=1)(lambda today: None)
    holder = lease_acquire(daily.LEASE)
    result = run_daily_jobs_task.apply(kwargs={"today": "2026-05-01"})
    assert result.state == "IGNORED"
    assert not NightlyRun.objects.exists()
    lease_release(daily.LEASE, holder)


def test_the_daily_command_says_it_skipped(registry):
    registry.register("a.job", order=1)(lambda today: None)
    holder = lease_acquire(daily.LEASE)
    with pytest.raises(CommandError, match="running elsewhere"):
        call_command("run_daily_jobs", "--today", "2026-05-01")
    lease_release(daily.LEASE, holder)


def test_a_tick_while_another_tick_runs_does_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(campaign_tasks, "campaigns_tick", lambda: calls.append(1) or {"x": 1})
    holder = lease_acquire("campaigns.tick")
    assert campaign_tasks.tick() == {"skipped": True}
    assert calls == []
    lease_release("campaigns.tick", holder)
    assert campaign_tasks.tick() == {"x": 1}
    assert calls == [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_daily_runs_at_once_on_postgresql_run_the_jobs_once(registry):
    started, release = threading.Event(), threading.Event()
    ran = []

    def slow_job(today):
        ran.append(today)
        started.set()
        release.wait(30)

    registry.register("slow", order=1)(slow_job)
    results = {}

    def run(name):
        try:
            results[name] = registry.run_daily_jobs(today=date(2026, 5, 1))
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    second.join(30)
    release.set()
    first.join(30)
    assert results["second"].skipped
    assert not results["first"].skipped and results["first"].ok
    assert ran == [date(2026, 5, 1)]


def test_the_tick_command_from_cron_skips_while_beats_tick_runs(monkeypatch):
    from io import StringIO

    from campaigns.management.commands import campaigns_tick as command

    calls = []
    monkeypatch.setattr(command, "campaigns_tick", lambda: calls.append(1))
    holder = lease_acquire("campaigns.tick")
    out = StringIO()
    call_command("campaigns_tick", stdout=out)
    assert "skipped" in out.getvalue() and calls == []
    lease_release("campaigns.tick", holder)
