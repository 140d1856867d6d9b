"""The nightly tier recalculation: qualification over the window, retention, downgrade
policies, manual locks, history, idempotence and the what-if count."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from loyalty import daily
from tests.factories import MemberFactory, PurchaseFactory
from tiers import services_sql
from tiers.models import MemberTier, Tier, TierChange, TierPolicy
from tiers.selectors import tier_whatif
from tiers.services import tiers_recalculate

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 11, 23)
# The job of TODAY counts purchases up to the end of the day before (tests/tiers/test_window.py).
YESTERDAY = TODAY - timedelta(days=1)

# The default tiers (tiers/migrations/0002): silver 5,000,000 VND and 3 purchases,
# gold 20,000,000 and 10, diamond 50,000,000 and 20, in the 12-month window.
SILVER_SPEND = Decimal("5000000")


def tier(code: str) -> Tier:
    return Tier.objects.get(code=code)


def buy(member, store, amount, *, on: date = YESTERDAY, at: time = time(12, 0), returned=0):
    amount = Decimal(amount)
    return PurchaseFactory(
        member=member,
        store=store,
        occurred_at=datetime.combine(on, at, tzinfo=VN),
        total_amount=amount,
        amount_due=amount,
        returned_amount=Decimal(returned),
    )


def recalc(today: date = TODAY) -> dict:
    with time_machine.travel(datetime.combine(today, time(1, 30), tzinfo=VN), tick=False):
        return tiers_recalculate(today=today)


def tier_code(member) -> str:
    return MemberTier.objects.select_related("tier").get(member=member).tier.code


def hold(member, code: str, *, since: date, retained_until: date, locked_until=None):
    """Give ``member`` a tier directly, as an earlier run (or staff) would have."""
    return MemberTier.objects.create(
        member=member,
        tier=tier(code),
        since=since,
        retained_until=retained_until,
        locked_until=locked_until,
    )


def set_policy(policy: str) -> None:
    TierPolicy.objects.filter(pk=1).update(downgrade_policy=policy)


def changes() -> int:
    return TierChange.objects.count()


# ---------------------------------------------------------------- qualification


def test_exactly_at_both_minimums_qualifies(member, store):
    for amount in ("2000000", "2000000", "1000000"):
        buy(member, store, amount)
    counts = recalc()
    assert tier_code(member) == "silver"
    assert counts == {
        "examined": 1,
        "initial": 1,
        "upgraded": 0,
        "downgraded": 0,
        "unchanged": 0,
    }


def test_one_purchase_short_does_not_qualify(member, store):
    buy(member, store, "2500000")
    buy(member, store, "2500000")
    recalc()
    assert tier_code(member) == "bronze"


def test_one_dong_short_does_not_qualify(member, store):
    for amount in ("2000000", "2000000", "999999"):
        buy(member, store, amount)
    recalc()
    assert tier_code(member) == "bronze"


def test_a_return_that_brings_spend_under_the_minimum_loses_the_tier(member, store):
    buy(member, store, "2000000")
    buy(member, store, "2000000")
    buy(member, store, "1000000", returned="1")
    recalc()
    assert tier_code(member) == "bronze"


def test_a_fully_returned_purchase_does_not_count_as_a_purchase(member, store):
    buy(member, store, "3000000")
    buy(member, store, "3000000")
    buy(member, store, "500000", returned="500000")
    recalc()
    assert tier_code(member) == "bronze"  # 6,000,000 net but only 2 purchases kept


def test_the_window_is_the_last_twelve_months_in_local_days(member, other_member, store):
    # The job of 23 Nov 2026 counts from 23 Nov 2025 00:00 to 23 Nov 2026 00:00, Vietnamese
    # time.
    buy(member, store, "5000000", on=date(2025, 11, 23), at=time(0, 5))  # 22 Nov 17:05 UTC
    buy(member, store, "1", on=YESTERDAY, at=time(23, 55))
    buy(member, store, "1", on=YESTERDAY)
    buy(other_member, store, "5000000", on=date(2025, 11, 22), at=time(23, 55))
    buy(other_member, store, "1", on=YESTERDAY)
    buy(other_member, store, "1", on=YESTERDAY)
    buy(other_member, store, "1", on=TODAY, at=time(0, 5))  # the job's day: the next job
    recalc()
    assert tier_code(member) == "silver"
    assert tier_code(other_member) == "bronze"


def test_every_member_gets_a_tier_on_the_first_run(member, other_member, store):
    buy(member, store, SILVER_SPEND)
    counts = recalc()
    assert counts["examined"] == counts["initial"] == 2
    assert tier_code(member) == tier_code(other_member) == "bronze"
    status = MemberTier.objects.get(member=member)
    assert (status.since, status.retained_until, status.locked_until) == (
        TODAY,
        date(2027, 11, 30),
        None,
    )


# ---------------------------------------------------------------- upgrades and retention


def test_an_upgrade_starts_a_new_retention_period(member, store):
    hold(member, "silver", since=date(2026, 1, 5), retained_until=date(2027, 1, 31))
    for _ in range(10):
        buy(member, store, "2000000")
    counts = recalc()
    assert counts["upgraded"] == 1
    status = MemberTier.objects.get(member=member)
    assert (status.tier.code, status.since, status.retained_until) == (
        "gold",
        TODAY,
        date(2027, 11, 30),
    )


def test_a_tier_is_kept_until_the_end_of_the_window_after_it_was_reached(member, store):
    reached = date(2025, 3, 10)
    for _ in range(3):
        buy(member, store, "2000000", on=reached - timedelta(days=1))
    recalc(reached)
    assert tier_code(member) == "silver"
    assert MemberTier.objects.get(member=member).retained_until == date(2026, 3, 31)

    # The purchases left the window long before; the tier is kept to the last day.
    assert recalc(date(2026, 3, 31))["unchanged"] == 1
    assert tier_code(member) == "silver"

    assert recalc(date(2026, 4, 1))["downgraded"] == 1
    status = MemberTier.objects.get(member=member)
    assert (status.tier.code, status.since, status.retained_until) == (
        "bronze",
        date(2026, 4, 1),
        date(2027, 4, 30),
    )


# ---------------------------------------------------------------- downgrade policies


@pytest.mark.parametrize(
    ("policy", "expected", "reason"),
    [
        ("none", "diamond", None),
        ("one_level", "gold", "downgrade"),
        ("to_qualified", "silver", "downgrade"),
    ],
)
def test_downgrade_policies(member, store, policy, expected, reason):
    set_policy(policy)
    hold(member, "diamond", since=date(2024, 6, 1), retained_until=date(2025, 6, 30))
    for _ in range(3):
        buy(member, store, "2000000")  # qualifies for silver only
    counts = recalc()
    assert tier_code(member) == expected
    assert counts["downgraded"] == (1 if reason else 0)
    assert list(TierChange.objects.values_list("from_tier__code", "to_tier__code", "reason")) == (
        [("diamond", expected, reason)] if reason else []
    )


def test_one_level_never_goes_below_the_entry_tier(member):
    hold(member, "silver", since=date(2024, 6, 1), retained_until=date(2025, 6, 30))
    recalc()
    assert tier_code(member) == "bronze"
    assert recalc(date(2026, 11, 24))["downgraded"] == 0
    assert tier_code(member) == "bronze"


def test_the_default_policy_is_one_level(member):
    assert TierPolicy.objects.get().downgrade_policy == TierPolicy.Downgrade.ONE_LEVEL
    TierPolicy.objects.all().delete()  # a flushed database: the job uses the defaults
    hold(member, "gold", since=date(2024, 6, 1), retained_until=date(2025, 6, 30))
    recalc()
    assert tier_code(member) == "silver"


# ---------------------------------------------------------------- manual locks


def test_a_manual_lock_is_respected_until_its_date(member, store):
    hold(
        member,
        "gold",
        since=date(2025, 1, 1),
        retained_until=date(2026, 1, 31),
        locked_until=date(2026, 12, 1),
    )
    assert recalc(date(2026, 11, 30))["unchanged"] == 1
    assert tier_code(member) == "gold"
    assert recalc(date(2026, 12, 1))["downgraded"] == 1
    assert tier_code(member) == "silver"


def test_a_lock_does_not_stop_an_upgrade_the_member_qualifies_for(member, store):
    """A lock protects a tier set by hand from downgrades; it never holds a member back."""
    hold(
        member,
        "bronze",
        since=TODAY,
        retained_until=date(2027, 11, 30),
        locked_until=date(2026, 12, 1),
    )
    for _ in range(3):
        buy(member, store, "2000000")
    recalc()
    assert tier_code(member) == "silver"


# ---------------------------------------------------------------- history and idempotence


def _population(store):
    """Members in every situation: new at each tier, an upgrade, a downgrade, a keeper."""
    new_bronze = MemberFactory()
    new_silver = MemberFactory()
    for _ in range(3):
        buy(new_silver, store, "2000000")
    new_diamond = MemberFactory()
    for _ in range(20):
        buy(new_diamond, store, "2500000")
    upgrade = MemberFactory()
    hold(upgrade, "bronze", since=date(2026, 1, 1), retained_until=date(2027, 1, 31))
    for _ in range(10):
        buy(upgrade, store, "2000000")
    downgrade = MemberFactory()
    hold(downgrade, "gold", since=date(2024, 1, 1), retained_until=date(2025, 1, 31))
    keeper = MemberFactory()
    hold(keeper, "gold", since=date(2026, 2, 1), retained_until=date(2027, 2, 28))
    return {
        "new_bronze": new_bronze,
        "new_silver": new_silver,
        "new_diamond": new_diamond,
        "upgrade": upgrade,
        "downgrade": downgrade,
        "keeper": keeper,
    }


def test_history_rows_are_written_for_every_change(store):
    people = _population(store)
    with time_machine.travel(datetime(2026, 11, 23, 1, 30, tzinfo=VN), tick=False):
        counts = tiers_recalculate(today=TODAY)
        now = datetime.now(tz=VN)
    assert counts == {
        "examined": 6,
        "initial": 3,
        "upgraded": 1,
        "downgraded": 1,
        "unchanged": 1,
    }
    rows = {
        (c.member_id, c.from_tier.code if c.from_tier else None, c.to_tier.code, c.reason)
        for c in TierChange.objects.select_related("from_tier", "to_tier")
    }
    assert rows == {
        (people["new_bronze"].pk, None, "bronze", "initial"),
        (people["new_silver"].pk, None, "silver", "initial"),
        (people["new_diamond"].pk, None, "diamond", "initial"),
        (people["upgrade"].pk, "bronze", "gold", "upgrade"),
        (people["downgrade"].pk, "gold", "silver", "downgrade"),
    }
    assert set(TierChange.objects.values_list("at", flat=True)) == {now}
    assert not TierChange.objects.filter(actor__isnull=False).exists()
    # The history ends where each member now is.
    for change in TierChange.objects.all():
        assert MemberTier.objects.get(member_id=change.member_id).tier_id == change.to_tier_id


def test_a_second_run_the_same_day_changes_nothing(store):
    _population(store)
    recalc()
    before = list(MemberTier.objects.order_by("pk").values())
    history = changes()
    counts = recalc()
    assert counts == {
        "examined": 6,
        "initial": 0,
        "upgraded": 0,
        "downgraded": 0,
        "unchanged": 6,
    }
    assert changes() == history
    assert list(MemberTier.objects.order_by("pk").values()) == before


def test_chunks_of_member_ids_give_the_same_result(store, monkeypatch):
    people = _population(store)
    monkeypatch.setattr(services_sql, "CHUNK", 2)
    counts = recalc()
    assert counts["examined"] == 6 and counts["initial"] == 3
    assert tier_code(people["upgrade"]) == "gold"
    assert tier_code(people["downgrade"]) == "silver"
    assert MemberTier.objects.count() == 6


def test_no_members_no_work(db):
    assert recalc() == {
        "examined": 0,
        "initial": 0,
        "upgraded": 0,
        "downgraded": 0,
        "unchanged": 0,
    }


# ---------------------------------------------------------------- what-if


def test_whatif_counts_equal_what_the_job_then_computes(store):
    _population(store)
    before = (MemberTier.objects.count(), changes())
    whatif = tier_whatif(thresholds={}, today=TODAY)
    assert whatif == {"bronze": 3, "silver": 1, "gold": 1, "diamond": 1}
    assert (MemberTier.objects.count(), changes()) == before  # nothing written

    # A first run: every member gets the tier they qualify for (no retention yet).
    MemberTier.objects.all().delete()
    recalc()
    computed = {code: MemberTier.objects.filter(tier__code=code).count() for code in whatif}
    assert computed == whatif


def test_whatif_with_proposed_thresholds_matches_the_job_under_them(store):
    _population(store)
    proposal = {"silver": (Decimal("1000000"), 1), "gold": (Decimal("5000000"), 3)}
    before = (MemberTier.objects.count(), changes())
    whatif = tier_whatif(thresholds=proposal, today=TODAY)
    assert whatif == {"bronze": 3, "silver": 0, "gold": 2, "diamond": 1}
    assert (MemberTier.objects.count(), changes()) == before

    for code, (min_spend, min_purchases) in proposal.items():
        Tier.objects.filter(code=code).update(min_spend=min_spend, min_purchases=min_purchases)
    MemberTier.objects.all().delete()  # a first run under the new thresholds
    recalc()
    computed = {code: MemberTier.objects.filter(tier__code=code).count() for code in whatif}
    assert computed == whatif


def test_whatif_refuses_unknown_tiers(db):
    with pytest.raises(ValueError, match="platinum"):
        tier_whatif(thresholds={"platinum": (1, 1)}, today=TODAY)


# ---------------------------------------------------------------- wiring


def test_the_daily_registry_runs_the_recalculation_after_the_points_jobs():
    jobs = {job.name: job for job in daily.jobs()}
    assert jobs["tiers.recalculate"].func is tiers_recalculate
    assert jobs["tiers.recalculate"].order == 30
    assert jobs["tiers.recalculate"].order > jobs["points.expire"].order


def test_command_prints_the_counts(member, store):
    buy(member, store, SILVER_SPEND)
    out = StringIO()
    with time_machine.travel(datetime(2026, 11, 23, 1, 30, tzinfo=VN), tick=False):
        call_command("recalculate_tiers", "--today", "2026-11-23", stdout=out)
    assert out.getvalue().strip() == (
        "2026-11-23 tiers: examined=1 initial=1 upgraded=0 downgraded=0 unchanged=0"
    )
    assert tier_code(member) == "bronze"


def test_a_tier_changed_while_the_job_runs_keeps_that_change(
    member, store, program_admin, monkeypatch
):
    from tiers.services import tier_set_manually

    hold(member, "bronze", since=date(2026, 1, 5), retained_until=date(2027, 1, 31))
    for amount in ("2000000", "2000000", "1000000"):
        buy(member, store, amount)  # qualifies for silver
    decide = services_sql._decide

    def decide_then_staff_step_in(*args, **kwargs):
        decided = decide(*args, **kwargs)
        tier_set_manually(
            member=member,
            tier=tier("gold"),
            reason="Set while the job was deciding",
            acting_user=program_admin,
            today=TODAY,
        )
        return decided

    monkeypatch.setattr(services_sql, "_decide", decide_then_staff_step_in)
    counts = recalc()

    assert tier_code(member) == "gold"
    assert (counts["upgraded"], counts["unchanged"]) == (0, 1)
    assert list(TierChange.objects.values_list("reason", flat=True)) == ["manual"]
