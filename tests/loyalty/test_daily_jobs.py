from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from loyalty import daily
from loyalty.tasks import run_daily_jobs as run_daily_jobs_task


@pytest.fixture
def registry(monkeypatch, db):
    """An empty registry for the test; the real one is restored afterwards. (A run takes its
    single-run lease in the database.)"""
    monkeypatch.setattr(daily, "_registry", {})
    return daily


def test_jobs_run_in_order_with_the_day(registry):
    seen = []
    registry.register("b.second", order=20)(lambda today: seen.append(("b", today)))
    registry.register("a.first", order=10)(lambda today: seen.append(("a", today)) or 3)
    run = registry.run_daily_jobs(today=date(2026, 2, 17))
    assert seen == [("a", date(2026, 2, 17)), ("b", date(2026, 2, 17))]
    assert run.ok
    assert [o.result for o in run.outcomes] == [3, None]


def test_a_failing_job_does_not_stop_the_others_but_fails_the_run(registry):
    seen = []

    def broken(today):
        raise ValueError("boom")

    registry.register("x.broken", order=1)(broken)
    registry.register("y.after", order=2)(lambda today: seen.append(today))
    run = registry.run_daily_jobs(today=date(2026, 1, 1))
    assert seen == [date(2026, 1, 1)]
    assert not run.ok
    assert "boom" in run.outcomes[0].error


def test_today_is_the_date_in_ho_chi_minh_city(registry):
    got = []
    registry.register("t", order=1)(lambda today: got.append(today))
    # 18:30 UTC on 31 Dec is already 01:30 on 1 Jan in Vietnam (UTC+7).
    with time_machine.travel(datetime(2026, 12, 31, 18, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        registry.run_daily_jobs()
    assert got == [date(2027, 1, 1)]


def test_command_takes_a_day_and_reports_each_job(registry):
    registry.register("demo.job", order=1)(lambda today: f"did {today}")
    out = StringIO()
    call_command("run_daily_jobs", "--today", "2026-11-20", stdout=out)
    assert "2026-11-20 demo.job: ok" in out.getvalue()
    assert "did 2026-11-20" in out.getvalue()


def test_command_refuses_a_bad_date_and_fails_when_a_job_fails(registry):
    with pytest.raises(CommandError):
        call_command("run_daily_jobs", "--today", "20/11/2026")

    def broken(today):
        raise RuntimeError("nope")

    registry.register("broken", order=1)(broken)
    with pytest.raises(CommandError):
        call_command("run_daily_jobs", "--today", "2026-11-20", stdout=StringIO())


def test_task_runs_the_same_registry_and_fails_loudly(registry):
    registry.register("demo.job", order=1)(lambda today: 1)
    # apply(): run in this process whatever the broker setting (the worker test covers Redis).
    result = run_daily_jobs_task.apply(kwargs={"today": "2026-11-20"}).get()
    assert result["today"] == "2026-11-20" and result["ok"]

    def broken(today):
        raise RuntimeError("nope")

    registry.register("broken", order=2)(broken)
    with pytest.raises(RuntimeError):
        run_daily_jobs_task.apply(kwargs={"today": "2026-11-20"}, throw=True).get()
