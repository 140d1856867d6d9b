"""The nightly jobs started twice at the same moment (two beat processes by mistake, a task
redelivered while the first copy runs): one copy runs, the other skips, and no point, tier
change or send is made twice; a later run of the same day changes nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from tests.faults.harness import ROOT, say

pytestmark = pytest.mark.faults

# What the nightly jobs change, to compare runs by.
FIGURES = {
    "point entries": "SELECT count(*) FROM members_pointentry",
    "points available": "SELECT coalesce(sum(available), 0) FROM members_pointaccount",
    "points pending": "SELECT coalesce(sum(pending), 0) FROM members_pointaccount",
    "tier changes": "SELECT count(*) FROM tiers_tierchange",
    "sends": "SELECT count(*) FROM campaigns_send",
    "vouchers": "SELECT count(*) FROM rewards_voucher",
}


def _figures(stack) -> dict:
    return {name: stack.db.value(sql) for name, sql in FIGURES.items()}


def _daily(stack, day: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_daily_jobs", "--today", day],
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_nightly_runs_at_once_change_things_once(stack):
    # A day after every purchase's points matured and tiers are due for review.
    today = stack.db.value("SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date")
    day = (today + timedelta(days=45)).isoformat()
    # Birthdays greeted that day: the default birthday campaign sends (one per member).
    stack.db.rows("UPDATE campaigns_campaign SET state = 'running' WHERE code = 'birthday'")
    try:
        _two_runs_at_once(stack, day)
    finally:
        stack.db.rows("UPDATE campaigns_campaign SET state = 'paused' WHERE code = 'birthday'")


def _two_runs_at_once(stack, day: str) -> None:
    before = _figures(stack)
    runs = [_daily(stack, day), _daily(stack, day)]
    outputs = []
    for run in runs:
        out, _ = run.communicate(timeout=240)
        outputs.append((run.returncode, out))
    after = _figures(stack)
    say(f"two runs of {day} at once: exit {[code for code, _o in outputs]}; {before} -> {after}")
    ran = [out for code, out in outputs if code == 0]
    skipped = [out for code, out in outputs if code != 0]
    # Started together, the two overlap (one takes the lease, the other skips) unless the
    # first is done before the second has started Django: then the second runs after it and
    # must find nothing left to do. Either way the checks below show nothing happened twice.
    assert ran and len(ran) + len(skipped) == 2, outputs
    assert all("running elsewhere" in out for out in skipped), outputs
    assert all("FAILED" not in out for out in ran), outputs
    assert after != before  # the run did change things (so a double would show)

    # A member's tier changes at most once a day; each birthday greeted once.
    assert not stack.db.rows(
        "SELECT member_id FROM tiers_tierchange GROUP BY member_id, (at::date) HAVING count(*) > 1"
    )
    assert not stack.db.rows(
        "SELECT member_id FROM campaigns_send GROUP BY campaign_id, member_id, occurrence "
        "HAVING count(*) > 1"
    )
    # The same day again, alone: nothing more to do.
    again = stack.manage("run_daily_jobs", "--today", day, timeout=240)
    assert "FAILED" not in again.stdout
    assert _figures(stack) == after
    done = stack.manage("verify_ledger", check=False)
    assert done.returncode == 0, done.stderr
