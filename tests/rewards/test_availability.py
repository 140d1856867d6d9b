"""``reward_availability`` decides, in one place, whether a member may redeem a reward and
why not; each rule is tested at its boundary. ``rewards_for_member`` lists the catalogue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import translation

from members.services import member_block
from rewards import segments
from rewards.models import PartnerCode, Reward, RewardTierPrice, Voucher
from rewards.selectors import reward_availability, rewards_for_member
from rewards.services import partner_codes_import, voucher_cancel
from tests.rewards.conftest import give_points, local, make_reward, redeem, set_tier
from tiers.models import Tier
from tiers.selectors import tiers_ordered

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(local(2026, 6, 15), tick=False):
        yield


def offer(member, reward, today=TODAY):
    reward.refresh_from_db()
    with translation.override("en"):
        return reward_availability(member, reward, today=today)


def test_a_reward_is_available_when_every_rule_is_met(member):
    give_points(member, 100)
    result = offer(member, make_reward(points_cost=100))
    assert (result.available, result.reason, result.reason_code) == (True, None, None)
    assert result.points_cost == 100


def test_a_blocked_member_gets_nothing(member, support):
    give_points(member, 1000)
    member = member_block(member=member, reason="fraud", acting_user=support)
    result = offer(member, make_reward())
    assert (result.available, result.reason_code) == (False, "member_blocked")
    assert result.reason == "Your membership is blocked."


def test_an_inactive_reward_is_unavailable(member):
    give_points(member, 1000)
    result = offer(member, make_reward(is_active=False))
    assert (result.available, result.reason_code) == (False, "inactive")


def test_a_reward_is_available_from_its_first_day(member):
    give_points(member, 1000)
    reward = make_reward(available_from=TODAY)
    before = offer(member, reward, today=TODAY - timedelta(days=1))
    assert (before.available, before.reason_code) == (False, "not_started")
    assert before.reason.startswith("Available from ")
    assert offer(member, reward, today=TODAY).available


def test_a_reward_is_available_through_its_last_day(member):
    give_points(member, 1000)
    reward = make_reward(available_until=TODAY)
    assert offer(member, reward, today=TODAY).available
    after = offer(member, reward, today=TODAY + timedelta(days=1))
    assert (after.available, after.reason_code, after.reason) == (
        False,
        "ended",
        "No longer available.",
    )


def test_the_lowest_tier_allowed_is_compared_by_rank(member):
    give_points(member, 1000)
    reward = make_reward(min_tier=Tier.objects.get(code="gold"))
    set_tier(member, "silver")
    refused = offer(member, reward)
    assert (refused.available, refused.reason_code, refused.reason) == (
        False,
        "tier_too_low",
        "Needs Gold",
    )
    with translation.override("vi"):
        assert "Vàng" in reward_availability(member, reward, today=TODAY).reason
    set_tier(member, "gold")
    assert offer(member, reward).available
    set_tier(member, "diamond")
    assert offer(member, reward).available


def test_a_member_without_a_tier_row_is_in_the_entry_tier(member):
    give_points(member, 1000)
    assert offer(member, make_reward(min_tier=Tier.objects.get(code="bronze"))).available
    assert not offer(member, make_reward(min_tier=Tier.objects.get(code="silver"))).available


def test_a_tier_price_holds_for_that_tier_and_the_tiers_above(member):
    give_points(member, 1000)
    reward = make_reward(points_cost=800)
    RewardTierPrice.objects.create(
        reward=reward, tier=Tier.objects.get(code="gold"), points_cost=600
    )
    RewardTierPrice.objects.create(
        reward=reward, tier=Tier.objects.get(code="diamond"), points_cost=700
    )
    set_tier(member, "silver")
    assert offer(member, reward).points_cost == 800
    set_tier(member, "gold")
    assert offer(member, reward).points_cost == 600
    set_tier(member, "diamond")  # the lowest applicable price: Gold's 600, not Diamond's 700
    assert offer(member, reward).points_cost == 600


def test_a_segment_without_a_checker_makes_the_reward_unavailable(member):
    give_points(member, 1000)
    result = offer(member, make_reward(segment="vip"))
    assert (result.available, result.reason_code) == (False, "segment")


def test_a_segment_reward_asks_the_registered_checker(member, other_member):
    give_points(member, 1000)
    give_points(other_member, 1000)
    reward = make_reward(segment="vip")
    asked = []

    def checker(who, segment_code):
        asked.append((who.pk, segment_code))
        return who.pk == member.pk

    segments.register_checker(checker)
    assert offer(member, reward).available
    refused = offer(other_member, reward)
    assert (refused.available, refused.reason_code) == (False, "segment")
    assert refused.reason == "Only for selected members."
    assert asked == [(member.pk, "vip"), (other_member.pk, "vip")]


def test_stock_runs_out_at_the_total(member, other_member):
    give_points(member, 1000)
    give_points(other_member, 1000)
    reward = make_reward(stock_total=2)
    redeem(other_member, reward, today=TODAY)
    assert offer(member, reward).available  # 1 of 2 issued
    redeem(other_member, reward, today=TODAY)
    result = offer(member, reward)  # 2 of 2
    assert (result.available, result.reason_code, result.reason) == (
        False,
        "out_of_stock",
        "Out of stock",
    )


def test_a_partner_reward_is_out_of_stock_when_its_pool_is_empty(member, other_member):
    give_points(member, 5000)
    give_points(other_member, 5000)
    reward = make_reward(kind=Reward.Kind.PARTNER, partner_name="Cinema")
    assert offer(member, reward).reason_code == "out_of_stock"  # no codes yet
    partner_codes_import(reward=reward, rows=[(1, "P-1")])
    assert offer(member, reward).available
    redeem(other_member, reward, today=TODAY)
    assert offer(member, reward).reason_code == "out_of_stock"


def test_the_lifetime_limit_counts_redemptions_not_cancelled(member):
    give_points(member, 1000)
    reward = make_reward(limit_per_member=2, cancel_grace_hours=24)
    redeem(member, reward, today=TODAY)
    assert offer(member, reward).available  # 1 of 2
    second = redeem(member, reward, today=TODAY)
    result = offer(member, reward)
    assert (result.available, result.reason_code) == (False, "limit_reached")
    assert result.reason == "You have already redeemed the most allowed."
    voucher_cancel(voucher=second, member=member)
    assert offer(member, reward).available


def test_goodwill_vouchers_do_not_count_against_the_limit(member, program_admin):
    from rewards.services import voucher_issue_goodwill

    give_points(member, 1000)
    reward = make_reward(limit_per_member=1)
    voucher_issue_goodwill(member=member, reward=reward, reason="sorry", acting_user=program_admin)
    assert offer(member, reward).available


def test_the_monthly_limit_starts_again_on_the_first_of_the_month(member):
    give_points(member, 1000)
    reward = make_reward(limit_per_member_month=1)
    with time_machine.travel(local(2026, 5, 31, 23, 59, 59), tick=False):
        redeem(member, reward)
    assert offer(member, reward, today=date(2026, 5, 31)).reason_code == "monthly_limit_reached"
    assert offer(member, reward, today=date(2026, 6, 1)).available
    with time_machine.travel(local(2026, 6, 1, 0, 0, 0), tick=False):
        redeem(member, reward)
    result = offer(member, reward, today=date(2026, 6, 1))
    assert (result.available, result.reason_code) == (False, "monthly_limit_reached")
    assert result.reason == "You have reached this month's limit."


def test_the_balance_must_cover_the_cost(member):
    reward = make_reward(points_cost=500)
    give_points(member, 499)
    result = offer(member, reward)
    assert (result.available, result.reason_code, result.reason) == (
        False,
        "insufficient_points",
        "1 point short",
    )
    give_points(member, 1)
    assert offer(member, reward).available


def test_the_reason_says_how_many_points_are_missing(member):
    give_points(member, 380)
    result = offer(member, make_reward(points_cost=500))
    assert result.reason == "120 points short"


def test_the_first_failing_rule_is_the_one_reported(member):
    reward = make_reward(min_tier=Tier.objects.get(code="gold"), stock_total=0, points_cost=10_000)
    assert offer(member, reward).reason_code == "tier_too_low"


def test_the_catalogue_lists_available_rewards_first_then_by_cost(member):
    give_points(member, 500)
    cheap = make_reward(points_cost=100, name="B")
    dear = make_reward(points_cost=400, name="A")
    too_dear = make_reward(points_cost=600)
    gold_only = make_reward(points_cost=50, min_tier=Tier.objects.get(code="gold"))
    make_reward(is_active=False)
    make_reward(available_until=TODAY - timedelta(days=1))
    make_reward(available_from=TODAY + timedelta(days=1))
    with translation.override("en"):
        offers = rewards_for_member(member, today=TODAY)
    assert [(o.reward, o.available) for o in offers] == [
        (cheap, True),
        (dear, True),
        (gold_only, False),
        (too_dear, False),
    ]
    assert [o.reason for o in offers[2:]] == ["Needs Gold", "100 points short"]


def test_the_catalogue_takes_the_same_few_queries_for_any_number_of_rewards(
    member, django_assert_num_queries
):
    give_points(member, 10_000)
    gold = Tier.objects.get(code="gold")
    set_tier(member, "gold")
    for n in range(12):
        reward = make_reward(
            points_cost=100 + n,
            limit_per_member=3,
            stock_total=50,
            kind=Reward.Kind.PARTNER if n % 3 == 0 else Reward.Kind.AMOUNT,
            discount_amount=None if n % 3 == 0 else 10000,
        )
        RewardTierPrice.objects.create(reward=reward, tier=gold, points_cost=90)
        if n % 3 == 0:
            PartnerCode.objects.create(reward=reward, code=f"P{n}")
        redeem(member, reward, today=TODAY)
    tiers_ordered()  # the tier table is in the process cache, as on every request
    # tier, balance, redemption counts, rewards (with the pool counts), tier prices
    with django_assert_num_queries(5):
        offers = rewards_for_member(member, today=TODAY)
    assert len(offers) == 12
    assert {o.points_cost for o in offers} == {90}
    partner = [o for o in offers if o.reward.kind == Reward.Kind.PARTNER]
    assert {o.reason_code for o in partner} == {"out_of_stock"}  # one code each, now used
    assert all(o.available for o in offers if o.reward.kind == Reward.Kind.AMOUNT)
    assert Voucher.objects.filter(member=member).count() == 12
