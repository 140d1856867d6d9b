"""The nightly member scores: lifecycle stages at their exact boundaries, RFM quintiles with
ties, returns, VIP, idempotence, chunks and the wiring of the job."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from campaigns.models import MemberScore
from campaigns.services import scores_sql, segments_compute
from loyalty import daily
from tests.campaigns.helpers import TODAY, VN, buy, compute, days_ago, rfm, score, stage
from tests.factories import MemberFactory
from tiers.models import MemberTier, Tier

pytestmark = pytest.mark.django_db

STAGES = ["potential", "new", "active", "vip", "at_risk", "lapsed"]


def hold(member, code: str) -> None:
    MemberTier.objects.create(
        member=member,
        tier=Tier.objects.get(code=code),
        since=date(2026, 1, 1),
        retained_until=date(2027, 1, 31),
    )


# ---------------------------------------------------------------- lifecycle stages


def test_a_member_who_never_bought_is_potential_and_not_scored(member):
    counts = compute()
    assert counts["potential"] == counts["members"] == 1
    s = score(member)
    assert (s.lifecycle, s.recency, s.frequency, s.monetary) == ("potential", None, None, None)
    assert (s.first_purchase_at, s.last_purchase_at, s.purchases_12m, s.spend_12m) == (
        None,
        None,
        0,
        Decimal(0),
    )
    assert (s.computed_on, s.lifecycle_since) == (TODAY, TODAY)


@pytest.mark.parametrize(
    ("first_bought_days_ago", "expected"),
    [(0, "new"), (29, "new"), (30, "active")],
)
def test_new_means_a_first_purchase_in_the_last_30_days(store, first_bought_days_ago, expected):
    # Three members so that the one under test is not top of every quintile (not VIP).
    member = MemberFactory()
    buy(member, store, "100000", on=days_ago(first_bought_days_ago), at=time(0, 5))
    for _ in range(2):
        buy(MemberFactory(), store, "900000", on=TODAY)
    compute()
    assert stage(member) == expected


@pytest.mark.parametrize(
    ("last_bought_days_ago", "expected"),
    [
        (89, "active"),
        (90, "at_risk"),
        (179, "at_risk"),
        (180, "lapsed"),
        (400, "lapsed"),
    ],
)
def test_at_risk_after_90_days_without_a_purchase_lapsed_after_180(
    store, last_bought_days_ago, expected
):
    member = MemberFactory()
    buy(member, store, "100000", on=days_ago(500))
    # The last purchase late in the evening, local time: the previous day in UTC.
    buy(member, store, "100000", on=days_ago(last_bought_days_ago), at=time(23, 55))
    compute()
    assert stage(member) == expected


def test_a_purchase_just_after_local_midnight_counts_on_its_local_day(store):
    """17:05 UTC on day -91 is 00:05 on day -90 in Vietnam: 90 days ago, at risk."""
    member = MemberFactory()
    buy(member, store, "100000", on=days_ago(200))
    buy(member, store, "100000", on=days_ago(90), at=time(0, 5))
    other = MemberFactory()
    buy(other, store, "100000", on=days_ago(200))
    buy(other, store, "100000", on=days_ago(89), at=time(0, 5))
    compute()
    assert (stage(member), stage(other)) == ("at_risk", "active")


def test_purchases_after_today_are_not_seen(store):
    member = MemberFactory()
    buy(member, store, on=date(2026, 11, 24), at=time(0, 5))
    compute()
    assert stage(member) == "potential"


def test_fully_returned_purchases_do_not_count(store):
    only_returned = MemberFactory()
    buy(only_returned, store, "500000", returned="500000")
    lapsed = MemberFactory()
    buy(lapsed, store, "500000", on=days_ago(200))
    buy(lapsed, store, "500000", on=days_ago(5), returned="500000")  # returned: no purchase
    partial = MemberFactory()
    buy(partial, store, "500000", on=days_ago(3), returned="200000")
    buy(partial, store, "100000", on=days_ago(2))
    compute()
    assert stage(only_returned) == "potential"
    assert stage(lapsed) == "lapsed"
    assert score(lapsed).last_purchase_at == datetime.combine(days_ago(200), time(12), VN)
    s = score(partial)
    assert (s.purchases_12m, s.spend_12m) == (2, Decimal("400000"))


def test_the_12_month_figures_and_first_and_last_purchase(store):
    member = MemberFactory()
    buy(member, store, "1000000", on=date(2025, 11, 23), at=time(23, 0))  # outside the window
    buy(member, store, "300000", on=date(2025, 11, 24), at=time(0, 5))  # first day inside
    buy(member, store, "200000", on=days_ago(10))
    compute()
    s = score(member)
    assert (s.purchases_12m, s.spend_12m) == (2, Decimal("500000"))
    assert s.first_purchase_at == datetime(2025, 11, 23, 23, 0, tzinfo=VN)
    assert s.last_purchase_at == datetime.combine(days_ago(10), time(12), VN)


def test_a_member_whose_purchases_are_all_older_than_a_year_is_lapsed_and_not_scored(store):
    member = MemberFactory()
    buy(member, store, on=days_ago(400))
    compute()
    assert stage(member) == "lapsed"
    assert rfm(member) == (None, None, None)


# ---------------------------------------------------------------- VIP


def test_the_top_tier_is_vip_unless_at_risk(store):
    diamond = MemberFactory()
    hold(diamond, "diamond")
    buy(diamond, store, "100000", on=days_ago(100))
    buy(diamond, store, "100000", on=days_ago(40))
    gold = MemberFactory()
    hold(gold, "gold")
    buy(gold, store, "100000", on=days_ago(40))
    drifting = MemberFactory()
    hold(drifting, "diamond")
    buy(drifting, store, "100000", on=days_ago(95))
    for _ in range(3):  # buyers who outscore them all
        someone = MemberFactory()
        for _ in range(3):
            buy(someone, store, "900000", on=days_ago(35))
    compute()
    assert (stage(diamond), stage(gold), stage(drifting)) == ("vip", "active", "at_risk")


def test_rfm_scores_of_five_buyers_each_better_than_the_last(store):
    members = [MemberFactory() for _ in range(5)]
    for i, m in enumerate(members):
        for _ in range(i + 1):
            buy(m, store, "100000", on=days_ago(80 - 10 * i))
    compute()
    assert [rfm(m) for m in members] == [(i, i, i) for i in range(1, 6)]
    assert [stage(m) for m in members] == ["active"] * 4 + ["vip"]  # 5+5+5 >= 14


@pytest.mark.parametrize(
    ("purchases", "expected_rfm", "expected"),
    [(5, (4, 5, 5), "vip"), (4, (4, 4, 5), "active")],
)
def test_vip_by_rfm_needs_a_score_sum_of_14(store, purchases, expected_rfm, expected):
    """Four buyers at 1..4 purchases; the best one bought on the same day as the fourth
    (recency tied: both 4) and spent most (5); with 5 purchases 4-5-5 = 14, with 4 (tied
    with the fourth) 4-4-5 = 13."""
    members = [MemberFactory() for _ in range(5)]
    for i, m in enumerate(members[:4]):
        for _ in range(i + 1):
            buy(m, store, "100000", on=days_ago(80 - 10 * i))
    for _ in range(purchases):
        buy(members[4], store, "500000", on=days_ago(50), at=time(8, 0))
    compute()
    assert rfm(members[4]) == expected_rfm
    assert stage(members[4]) == expected


def test_a_single_tier_programme_has_no_top_tier(member, store):
    Tier.objects.exclude(rank=Tier.objects.order_by("rank").first().rank).delete()
    buy(member, store, on=days_ago(60))
    other = MemberFactory()
    for _ in range(3):
        buy(other, store, "900000", on=days_ago(1))
    compute()
    assert stage(member) == "active"


# ---------------------------------------------------------------- quintiles


def test_ten_distinct_values_make_two_members_per_quintile(store):
    members = [MemberFactory() for _ in range(10)]
    for i, m in enumerate(members):
        for _ in range(i + 1):  # frequency 1..10, spend rising, last purchase more recent
            buy(m, store, "100000", on=days_ago(100 - i))
    compute()
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [score(m).frequency for m in members] == expected
    assert [score(m).monetary for m in members] == expected
    assert [score(m).recency for m in members] == expected


def test_ties_share_a_score_the_lower_one(store):
    """Frequencies 1,1,1,1,1,1,2,2,3,10: six members bought once (none of them is below
    another: score 1), two twice (six below: 1 + 5*6//10 = 4), then 5 and 5."""
    counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 10]
    members = [MemberFactory() for _ in counts]
    for m, n in zip(members, counts, strict=True):
        for _ in range(n):
            buy(m, store, "100000", on=days_ago(10))
    compute()
    assert [score(m).frequency for m in members] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # The same money per purchase: monetary follows frequency.
    assert [score(m).monetary for m in members] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # Everyone's last purchase was the same day: one recency score for all, the lowest.
    assert {score(m).recency for m in members} == {1}


def test_recency_ranks_local_days_not_times(store):
    early, late, before = MemberFactory(), MemberFactory(), MemberFactory()
    buy(early, store, on=days_ago(3), at=time(0, 5))
    buy(late, store, on=days_ago(3), at=time(23, 55))
    buy(before, store, on=days_ago(4), at=time(23, 55))
    compute()
    assert score(early).recency == score(late).recency == 2  # 1 + 5*1//3
    assert score(before).recency == 1


def test_only_buyers_of_the_last_12_months_are_ranked(store):
    old = MemberFactory()
    buy(old, store, "99000000", on=days_ago(400))
    members = [MemberFactory() for _ in range(5)]
    for i, m in enumerate(members):
        buy(m, store, str(100000 * (i + 1)), on=days_ago(10))
    MemberFactory()  # never bought
    counts = compute()
    assert counts["members"] == 7 and counts["scored"] == 5
    assert [score(m).monetary for m in members] == [1, 2, 3, 4, 5]


def test_monetary_is_net_of_returns(store):
    a, b = MemberFactory(), MemberFactory()
    buy(a, store, "1000000", on=days_ago(10), returned="900000")  # net 100,000
    buy(b, store, "500000", on=days_ago(10))
    compute()
    assert (score(a).monetary, score(b).monetary) == (1, 3)  # 1 + 5*1//2 = 3


# ---------------------------------------------------------------- reruns


def _population(store):
    people = {
        "potential": MemberFactory(),
        "new": MemberFactory(),
        "active": MemberFactory(),
        "at_risk": MemberFactory(),
        "lapsed": MemberFactory(),
        "vip": MemberFactory(),
    }
    buy(people["new"], store, on=days_ago(3))
    buy(people["active"], store, on=days_ago(60))
    buy(people["active"], store, on=days_ago(45))
    buy(people["at_risk"], store, on=days_ago(120))
    buy(people["lapsed"], store, on=days_ago(300))
    hold(people["vip"], "diamond")
    buy(people["vip"], store, on=days_ago(40))
    return people


def test_every_stage_is_counted(store):
    people = _population(store)
    counts = compute()
    assert counts == {
        "potential": 1,
        "new": 1,
        "active": 1,
        "vip": 1,
        "at_risk": 1,
        "lapsed": 1,
        "members": 6,
        "scored": 5,  # all but the potential one: 300 days is inside the year
        "written": 6,
    }
    assert {name: stage(m) for name, m in people.items()} == {name: name for name in people}


def test_a_second_run_the_same_day_writes_nothing(store):
    _population(store)
    compute()
    before = list(MemberScore.objects.order_by("pk").values())
    counts = compute()
    assert counts["written"] == 0
    assert counts["members"] == 6
    assert list(MemberScore.objects.order_by("pk").values()) == before


def test_a_rerun_the_same_day_writes_only_what_changed(store):
    people = _population(store)
    compute()
    before = {row["member_id"]: row for row in MemberScore.objects.values()}
    buy(people["potential"], store, on=TODAY)
    counts = compute()
    after = {row["member_id"]: row for row in MemberScore.objects.values()}
    assert stage(people["potential"]) == "new"
    changed = [pk for pk in after if after[pk] != before[pk]]
    # The new buyer, and those whose quintile moved with one more buyer ranked; not the rest.
    assert people["potential"].pk in changed and len(changed) < 6
    assert counts["written"] == len(changed)


def test_the_next_day_keeps_the_stage_date_of_members_who_stay(store):
    people = _population(store)
    compute()
    compute(date(2026, 11, 24))
    s = score(people["active"])
    assert (s.lifecycle, s.lifecycle_since, s.computed_on) == (
        "active",
        TODAY,
        date(2026, 11, 24),
    )
    day = days_ago(45) + timedelta(days=90)  # at risk from 90 days after the last purchase
    compute(day)
    s = score(people["active"])
    assert (s.lifecycle, s.lifecycle_since) == ("at_risk", day)


def test_chunks_of_member_ids_give_the_same_result(store, monkeypatch):
    people = _population(store)
    monkeypatch.setattr(scores_sql, "CHUNK", 2)
    counts = compute()
    assert counts["written"] == 6
    assert {name: stage(m) for name, m in people.items()} == {name: name for name in people}


def test_no_members_no_work(db):
    assert compute() == {**{s: 0 for s in STAGES}, "members": 0, "scored": 0, "written": 0}


# ---------------------------------------------------------------- wiring


def test_the_daily_registry_runs_segments_after_the_tiers():
    jobs = {job.name: job for job in daily.jobs()}
    assert jobs["campaigns.segments"].func is segments_compute
    assert jobs["campaigns.segments"].order == 50
    assert jobs["campaigns.segments"].order > jobs["tiers.recalculate"].order


def test_the_daily_run_gives_a_new_member_a_score(member):
    with time_machine.travel(datetime(2026, 11, 23, 1, 0, tzinfo=VN), tick=False):
        run = daily.run_daily_jobs(today=TODAY)
    assert run.ok, run.as_dict()
    assert stage(member) == "potential"


def test_command_prints_the_counts(member):
    out = StringIO()
    with time_machine.travel(datetime(2026, 11, 23, 1, 30, tzinfo=VN), tick=False):
        call_command("compute_segments", "--today", "2026-11-23", stdout=out)
    assert out.getvalue().strip() == (
        "2026-11-23 segments: potential=1 new=0 active=0 vip=0 at_risk=0 lapsed=0 "
        "members=1 scored=0 written=1"
    )
