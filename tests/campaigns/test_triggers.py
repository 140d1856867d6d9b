"""Who a campaign reaches on a day: birthdays, holidays (lunar ones included), each event
trigger, and the audience, through the daily job's set-based fan-out."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from campaigns.models import Campaign, CampaignPolicy, Send
from campaigns.services import campaign_fan_out
from members.selectors import program_get
from members.services.points import points_grant
from rewards.models import Reward
from rewards.services import voucher_issue_campaign
from tests.campaigns.campaign_helpers import VN, at, make_campaign, pause_defaults
from tests.campaigns.helpers import buy
from tests.factories import MemberFactory
from tiers.models import MemberTier, Tier, TierChange

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_our_campaigns(db):
    pause_defaults()


def sends(campaign) -> list[tuple[int, str]]:
    return sorted(Send.objects.filter(campaign=campaign).values_list("member_id", "occurrence"))


def fan_out(campaign, day: date, hour: int = 1) -> int:
    with time_machine.travel(at(day, hour), tick=False):
        return campaign_fan_out(campaign=campaign, today=day)


# ---------------------------------------------------------------------------------------------
# Birthdays


def birthday_campaign(**fields):
    return make_campaign("bday", trigger=Campaign.Trigger.BIRTHDAY, **fields)


def test_a_birthday_is_greeted_on_the_day_once_a_year(run_day):
    mai = MemberFactory(birth_date=date(1990, 3, 14))
    MemberFactory(birth_date=date(1990, 3, 15))
    MemberFactory(birth_date=None)
    campaign = birthday_campaign()
    assert fan_out(campaign, date(2026, 3, 13)) == 0
    assert fan_out(campaign, date(2026, 3, 14)) == 1
    assert sends(campaign) == [(mai.pk, "2026")]
    # The same day again, or a second run: nothing new. Next year: a new greeting.
    assert fan_out(campaign, date(2026, 3, 14), hour=9) == 0
    assert fan_out(campaign, date(2027, 3, 14)) == 1
    assert sends(campaign) == [(mai.pk, "2026"), (mai.pk, "2027")]


def test_the_policy_can_greet_on_the_first_day_of_the_birth_month():
    CampaignPolicy.objects.update_or_create(
        pk=1, defaults={"birthday_timing": CampaignPolicy.BirthdayTiming.MONTH_START}
    )
    early, late = (
        MemberFactory(birth_date=date(1990, 3, 1)),
        MemberFactory(birth_date=date(1985, 3, 31)),
    )
    MemberFactory(birth_date=date(1990, 4, 1))
    campaign = birthday_campaign()
    assert fan_out(campaign, date(2026, 3, 14)) == 0  # not on the day itself any more
    assert fan_out(campaign, date(2026, 3, 1)) == 2
    assert sends(campaign) == sorted([(early.pk, "2026"), (late.pk, "2026")])


def test_born_on_29_february_is_greeted_on_28_february_in_other_years():
    leapling = MemberFactory(birth_date=date(2000, 2, 29))
    on_28 = MemberFactory(birth_date=date(2000, 2, 28))
    campaign = birthday_campaign()
    assert fan_out(campaign, date(2027, 2, 28)) == 2  # 2027 has no 29 February
    assert fan_out(campaign, date(2027, 3, 1)) == 0
    assert sends(campaign) == sorted([(leapling.pk, "2027"), (on_28.pk, "2027")])
    # In a leap year each on their own day, once.
    assert fan_out(campaign, date(2028, 2, 28)) == 1
    assert fan_out(campaign, date(2028, 2, 29)) == 1
    assert (leapling.pk, "2028") in sends(campaign)


def test_born_on_29_february_is_in_february_for_the_month_start_policy():
    CampaignPolicy.objects.update_or_create(
        pk=1, defaults={"birthday_timing": CampaignPolicy.BirthdayTiming.MONTH_START}
    )
    leapling = MemberFactory(birth_date=date(2000, 2, 29))
    campaign = birthday_campaign()
    assert fan_out(campaign, date(2027, 2, 1)) == 1
    assert sends(campaign) == [(leapling.pk, "2027")]


# ---------------------------------------------------------------------------------------------
# Holidays


@pytest.mark.parametrize(
    ("today", "tet"),
    [(date(2026, 2, 10), "2026-02-17"), (date(2027, 1, 30), "2027-02-06")],
)
def test_tet_is_found_on_the_lunar_calendar_n_days_ahead(today, tet):
    member = MemberFactory()
    campaign = make_campaign("tet-test", trigger=Campaign.Trigger.HOLIDAY, holiday="tet", days=7)
    assert fan_out(campaign, today - timedelta(days=1)) == 0
    assert fan_out(campaign, today) == 1
    assert fan_out(campaign, today + timedelta(days=1)) == 0
    assert sends(campaign) == [(member.pk, tet)]


def test_a_holiday_on_the_day_hung_kings_and_mid_autumn():
    member = MemberFactory()
    hung = make_campaign("hung", trigger=Campaign.Trigger.HOLIDAY, holiday="hung-kings")
    moon = make_campaign("moon", trigger=Campaign.Trigger.HOLIDAY, holiday="mid-autumn", days=1)
    assert fan_out(hung, date(2026, 4, 26)) == 1  # 10/3 lunar in 2026
    assert fan_out(moon, date(2026, 9, 24)) == 1  # Trung Thu 2026 is 25 September
    assert fan_out(moon, date(2027, 9, 14)) == 1  # and 15 September in 2027
    assert sends(hung) == [(member.pk, "2026-04-26")]
    assert sends(moon) == [(member.pk, "2026-09-25"), (member.pk, "2027-09-15")]


def test_programme_dates_seeded_by_migration_are_holidays():
    member = MemberFactory()
    women = make_campaign(
        "women", trigger=Campaign.Trigger.HOLIDAY, holiday="vietnamese-womens-day"
    )
    xmas = make_campaign("xmas", trigger=Campaign.Trigger.HOLIDAY, holiday="christmas", days=2)
    assert fan_out(women, date(2026, 10, 20)) == 1
    assert fan_out(xmas, date(2026, 12, 23)) == 1
    assert sends(women) == [(member.pk, "2026-10-20")]
    assert sends(xmas) == [(member.pk, "2026-12-25")]


# ---------------------------------------------------------------------------------------------
# Events


def test_first_purchase_once_per_member_after_the_start(store):
    newcomer, regular, before_start = MemberFactory(), MemberFactory(), MemberFactory()
    buy(regular, store, on=date(2026, 1, 5))
    buy(before_start, store, on=date(2026, 2, 28))
    campaign = make_campaign(
        "first",
        trigger=Campaign.Trigger.FIRST_PURCHASE,
        starts_at=datetime(2026, 3, 1, tzinfo=VN),
    )
    buy(newcomer, store, on=date(2026, 3, 2))
    buy(newcomer, store, on=date(2026, 3, 3))
    buy(regular, store, on=date(2026, 3, 2))
    assert fan_out(campaign, date(2026, 3, 3)) == 1
    assert fan_out(campaign, date(2026, 3, 4)) == 0
    assert sends(campaign) == [(newcomer.pk, "first")]


def test_each_tier_upgrade_is_told_once():
    member = MemberFactory()
    bronze, silver, gold = (Tier.objects.get(code=code) for code in ("bronze", "silver", "gold"))
    first = TierChange.objects.create(
        member=member,
        from_tier=bronze,
        to_tier=silver,
        reason=TierChange.Reason.UPGRADE,
        at=at(date(2026, 5, 2), 15),
    )
    TierChange.objects.create(
        member=member,
        from_tier=silver,
        to_tier=bronze,
        reason=TierChange.Reason.DOWNGRADE,
        at=at(date(2026, 5, 3), 15),
    )
    campaign = make_campaign("up", trigger=Campaign.Trigger.TIER_UPGRADE)
    assert fan_out(campaign, date(2026, 5, 3)) == 1
    second = TierChange.objects.create(
        member=member,
        from_tier=silver,
        to_tier=gold,
        reason=TierChange.Reason.UPGRADE,
        at=at(date(2026, 5, 20), 10),
    )
    assert fan_out(campaign, date(2026, 5, 20)) == 1
    assert fan_out(campaign, date(2026, 5, 21)) == 0  # still in the look-back window: once
    assert sends(campaign) == sorted(
        [(member.pk, f"tierchange:{first.pk}"), (member.pk, f"tierchange:{second.pk}")]
    )


def test_a_coming_downgrade_is_told_30_days_before_the_review(store):
    short, safe = MemberFactory(), MemberFactory()
    gold = Tier.objects.get(code="gold")
    today = date(2026, 6, 1)
    for member in (short, safe):
        MemberTier.objects.create(
            member=member,
            tier=gold,
            since=date(2025, 1, 1),
            retained_until=today + timedelta(days=29),  # reviewed on today + 30
        )
    for n in range(10):
        buy(safe, store, amount="2500000", on=date(2026, 1, 1) + timedelta(days=n))
    campaign = make_campaign("down", trigger=Campaign.Trigger.TIER_DOWNGRADE)
    assert fan_out(campaign, today) == 1
    assert fan_out(campaign, today) == 0
    assert sends(campaign) == [(short.pk, "review:2026-07-01")]


def test_points_expiring_in_30_days():
    member, other = MemberFactory(), MemberFactory()
    program = program_get()
    # Earned in March 2025: expire at the end of March 2026 (12 months).
    with time_machine.travel(at(date(2025, 3, 10), 12), tick=False):
        points_grant(member=member, points=300, idempotency_key="t-1", reason="t", program=program)
    with time_machine.travel(at(date(2025, 4, 10), 12), tick=False):
        points_grant(member=other, points=300, idempotency_key="t-2", reason="t", program=program)
    campaign = make_campaign("expiring", trigger=Campaign.Trigger.POINTS_EXPIRING)
    assert fan_out(campaign, date(2026, 2, 28)) == 0  # 31 days ahead
    assert fan_out(campaign, date(2026, 3, 1)) == 1  # 30 days ahead: 31 March
    assert fan_out(campaign, date(2026, 3, 2)) == 0
    assert sends(campaign) == [(member.pk, "points:2026-03-31")]


def test_a_voucher_expiring_in_7_days():
    member = MemberFactory()
    reward = Reward.objects.create(
        code="giam-50k",
        kind=Reward.Kind.AMOUNT,
        name="Giảm 50.000đ",
        points_cost=100,
        discount_amount=Decimal("50000"),
        voucher_valid_days=10,
    )
    voucher = voucher_issue_campaign(
        member=member, reward=reward, reference="test", reason="t", today=date(2026, 8, 1)
    )
    assert voucher.valid_until == date(2026, 8, 10)
    campaign = make_campaign("voucher", trigger=Campaign.Trigger.VOUCHER_EXPIRING)
    assert fan_out(campaign, date(2026, 8, 2)) == 0
    assert fan_out(campaign, date(2026, 8, 3)) == 1
    assert fan_out(campaign, date(2026, 8, 4)) == 0
    assert sends(campaign) == [(member.pk, f"voucher:{voucher.pk}:2026-08-10")]


def test_win_back_after_n_days_without_a_purchase(store):
    lapsed, returned, recent = MemberFactory(), MemberFactory(), MemberFactory()
    buy(lapsed, store, on=date(2026, 1, 10))
    last = buy(lapsed, store, on=date(2026, 3, 1))
    buy(returned, store, on=date(2026, 3, 1))
    buy(returned, store, on=date(2026, 4, 1))
    buy(recent, store, on=date(2026, 5, 1))
    campaign = make_campaign("winback", trigger=Campaign.Trigger.WIN_BACK, days=60)
    assert fan_out(campaign, date(2026, 4, 29)) == 0
    assert fan_out(campaign, date(2026, 4, 30)) == 1  # 60 days after 1 March
    assert fan_out(campaign, date(2026, 5, 1)) == 0
    assert sends(campaign) == [(lapsed.pk, f"winback:{last.pk}")]


# ---------------------------------------------------------------------------------------------
# Audience


def test_an_audience_of_tiers_or_of_a_segment():
    from campaigns.models import Segment

    gold_member, bronze_member, unplaced = MemberFactory(), MemberFactory(), MemberFactory()
    gold, bronze = Tier.objects.get(code="gold"), Tier.objects.get(code="bronze")
    for member, tier in ((gold_member, gold), (bronze_member, bronze)):
        MemberTier.objects.create(
            member=member, tier=tier, since=date(2026, 1, 1), retained_until=date(2027, 1, 1)
        )
    hanoi = MemberFactory(province="ha-noi")
    segment = Segment.objects.create(
        code="hanoi",
        name="Hà Nội",
        rules={"op": "and", "rules": [{"field": "province", "in": ["ha-noi"]}]},
    )
    golds = make_campaign("golds", audience=Campaign.Audience.TIERS, tiers=[gold])
    bronzes = make_campaign("bronzes", audience=Campaign.Audience.TIERS, tiers=[bronze])
    north = make_campaign("north", audience=Campaign.Audience.SEGMENT, segment=segment)
    fan_out(golds, date(2026, 3, 1))
    fan_out(bronzes, date(2026, 3, 1))
    fan_out(north, date(2026, 3, 1))
    assert [m for m, _o in sends(golds)] == [gold_member.pk]
    # Not placed yet by the nightly job: in the entry tier.
    assert [m for m, _o in sends(bronzes)] == sorted([bronze_member.pk, unplaced.pk, hanoi.pk])
    assert [m for m, _o in sends(north)] == [hanoi.pk]
