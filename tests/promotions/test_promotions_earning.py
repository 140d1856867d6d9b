"""What promotions add to a purchase: multipliers and fixed bonuses, restrictions, days and
hours in the programme's time zone, caps, stacking, and what the POS reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import time_machine

from campaigns.models import Segment
from members.models import EarnCategoryRule
from members.selectors import program_get
from promotions.models import Promotion, PromotionAward
from promotions.selectors import promotion_awards_body, promotion_public_body, promotions_running
from promotions.services import promotion_awards_record, promotions_for_purchase
from tests.factories import PurchaseFactory
from tests.promotions.conftest import VN, local
from tiers.models import Tier

pytestmark = pytest.mark.django_db

SAT = date(2026, 5, 9)  # a Saturday
FRI = date(2026, 5, 8)
START = datetime(2026, 5, 1, 0, 0, tzinfo=VN)
END = datetime(2026, 6, 1, 0, 0, tzinfo=VN)


@pytest.fixture(autouse=True)
def _clock():
    """Saturday 9 May 2026, noon in Ho Chi Minh City, while the promotions run."""
    with time_machine.travel(local(SAT), tick=False):
        yield


def promo(code="p", **fields) -> Promotion:
    tiers = fields.pop("tiers", [])
    stores = fields.pop("stores", [])
    values = {
        "code": code,
        "name": f"Khuyến mãi {code}",
        "kind": Promotion.Kind.MULTIPLIER,
        "multiplier": Decimal("2"),
        "starts_at": START,
        "ends_at": END,
    }
    values.update(fields)
    if values["kind"] == Promotion.Kind.FIXED_BONUS:
        values.setdefault("bonus_points", 50)
        values["multiplier"] = fields.get("multiplier")
    promotion = Promotion.objects.create(**values)
    promotion.tiers.set(tiers)
    promotion.stores.set(stores)
    return promotion


def bronze() -> Tier:
    return Tier.objects.get(code="bronze")


def outcome(member, store, *, at=None, amount="250000", items=(), base=25, tier=None, **kw):
    amount = Decimal(amount)
    at = at or local(SAT)
    return promotions_for_purchase(
        member=member,
        tier=tier or bronze(),
        store=store,
        items=list(items),
        amount_due=Decimal(kw.pop("amount_due", amount)),
        total_amount=amount,
        occurred_at=at,
        base_points=base,
        program=kw.pop("program", None) or program_get(),
        **kw,
    )


def points(*args, **kwargs) -> int:
    return outcome(*args, **kwargs).points


def item(sku, price, *, category="", quantity=1):
    return {"sku": sku, "category": category, "quantity": quantity, "unit_price": Decimal(price)}


# ---------------------------------------------------------------------------------------------
# Kinds


def test_nothing_running_adds_nothing(member, store, django_assert_num_queries):
    promotions_running(at=local(SAT))  # warm the process cache
    tier, program = bronze(), program_get()
    with django_assert_num_queries(0):
        result = outcome(member, store, tier=tier, program=program)
    assert (result.points, result.awards, result.touches_member_state) == (0, [], False)


def test_double_points_doubles_what_the_member_would_have_earned(member, store):
    double = promo()
    result = outcome(member, store, base=37)
    assert result.points == 37
    assert result.awards == [(double, 37)]
    assert not result.touches_member_state


def test_a_multiplier_extra_is_rounded_down(member, store):
    promo(multiplier=Decimal("1.5"))
    assert points(member, store, base=25) == 12


def test_a_fixed_bonus_needs_the_minimum_amount_paid(member, store):
    promo(kind=Promotion.Kind.FIXED_BONUS, bonus_points=30, min_amount=Decimal("500000"))
    assert points(member, store, amount="499999") == 0
    assert points(member, store, amount="500000") == 30
    # What was paid in money counts, not the bill before vouchers and points.
    assert points(member, store, amount="600000", amount_due="450000") == 0


def test_a_purchase_paid_entirely_with_points_gets_no_bonus(member, store):
    promo(kind=Promotion.Kind.FIXED_BONUS, bonus_points=30)
    assert points(member, store, amount_due="0", base=0) == 0


def test_an_inactive_promotion_gives_nothing(member, store):
    promo(is_active=False)
    assert points(member, store) == 0


# ---------------------------------------------------------------------------------------------
# Period, days and hours, in Asia/Ho_Chi_Minh


def test_the_period_includes_its_start_and_excludes_its_end(member, store):
    promo()
    assert points(member, store, at=START) == 25
    assert points(member, store, at=datetime(2026, 4, 30, 23, 59, 59, tzinfo=VN)) == 0
    assert points(member, store, at=datetime(2026, 5, 31, 23, 59, 59, tzinfo=VN)) == 25
    assert points(member, store, at=END) == 0


def test_weekend_days_are_local_days(member, store):
    promo(days_of_week=[6, 7])  # Saturday, Sunday
    assert points(member, store, at=local(FRI, 23, 59, 59)) == 0
    assert points(member, store, at=local(SAT, 0, 0, 0)) == 25
    # Saturday 00:30 in Ho Chi Minh City is Friday 17:30 UTC: still Saturday.
    utc = datetime(2026, 5, 8, 17, 30, tzinfo=UTC)
    assert points(member, store, at=utc) == 25
    assert points(member, store, at=local(date(2026, 5, 10), 23, 59, 59)) == 25  # Sunday
    assert points(member, store, at=local(date(2026, 5, 11), 0, 0, 0)) == 0  # Monday


def test_hours_include_the_start_and_exclude_the_end(member, store):
    promo(start_time=time(18, 0), end_time=time(21, 0))
    assert points(member, store, at=local(SAT, 17, 59, 59)) == 0
    assert points(member, store, at=local(SAT, 18, 0, 0)) == 25
    assert points(member, store, at=local(SAT, 20, 59, 59)) == 25
    assert points(member, store, at=local(SAT, 21, 0, 0)) == 0
    # 11:00 UTC is 18:00 in Ho Chi Minh City.
    assert points(member, store, at=datetime(2026, 5, 9, 11, 0, tzinfo=UTC)) == 25


def test_an_open_ended_hour_window(member, store):
    promo(start_time=time(22, 0))
    assert points(member, store, at=local(SAT, 21, 59)) == 0
    assert points(member, store, at=local(SAT, 23, 59, 59)) == 25


# ---------------------------------------------------------------------------------------------
# Restrictions


def test_restricted_to_stores(member, store, other_store):
    promo(stores=[store])
    assert points(member, store) == 25
    assert points(member, other_store) == 0


def test_restricted_to_tiers(member, store):
    gold = Tier.objects.get(code="gold")
    promo(tiers=[gold])
    assert points(member, store, tier=bronze()) == 0
    assert points(member, store, tier=gold) == 25


def test_restricted_to_a_segment(member, other_member, store):
    Segment.objects.create(
        code="hanoi",
        name="Hà Nội",
        rules={"op": "and", "rules": [{"field": "province", "in": ["ha-noi"]}]},
    )
    promo(segment="hanoi")
    from members.services import member_update_profile

    member_update_profile(member=member, province="ha-noi")
    assert points(member, store) == 25
    assert points(other_member, store) == 0


def test_restricted_to_skus_applies_to_their_share(member, store):
    promo(skus=["MILK-1"])
    items = [item("MILK-1", "100000"), item("BREAD", "150000")]
    # The milk is 100,000 of 250,000: its share of 25 base points is 10.
    assert points(member, store, items=items, base=25) == 10
    assert points(member, store, items=[item("BREAD", "250000")]) == 0
    # Without items a promotion restricted to items cannot apply.
    assert points(member, store) == 0


def test_restricted_to_categories_case_insensitively(member, store):
    promo(categories=["dairy"])
    items = [
        item("M", "50000", category="Dairy", quantity=2),
        item("B", "150000", category="bakery"),
    ]
    assert points(member, store, items=items, base=25) == 10


def test_an_item_share_is_of_what_was_paid_in_money(member, store):
    promo(
        kind=Promotion.Kind.FIXED_BONUS, bonus_points=40, skus=["TV"], min_amount=Decimal("800000")
    )
    items = [item("TV", "1000000"), item("CABLE", "250000")]
    # 1,000,000 of 1,250,000, when 1,000,000 was paid in money: 800,000 -> qualifies.
    assert points(member, store, amount="1250000", amount_due="1000000", items=items) == 40
    assert points(member, store, amount="1250000", amount_due="999999", items=items) == 0


def test_items_that_earn_nothing_do_not_count(member, store):
    EarnCategoryRule.objects.create(category="gift-card", multiplier=Decimal("0"))
    promo(kind=Promotion.Kind.FIXED_BONUS, bonus_points=40, min_amount=Decimal("500000"))
    gift = [item("GC", "500000", category="gift-card"), item("X", "100000")]
    assert points(member, store, amount="600000", items=gift, base=10) == 0
    promo("double", multiplier=Decimal("2"))
    # Every earning item matches an unrestricted multiplier: it doubles the base exactly.
    assert points(member, store, amount="600000", items=gift, base=10) == 10


# ---------------------------------------------------------------------------------------------
# Caps


def _record(member, store, result):
    purchase = PurchaseFactory(member=member, store=store)
    promotion_awards_record(purchase=purchase, outcome=result)
    return purchase


def test_a_cap_limits_what_one_member_gets_from_a_promotion(member, other_member, store):
    capped = promo(cap_points_per_member=60)
    first = outcome(member, store, base=25)
    assert first.touches_member_state and first.points == 25
    _record(member, store, first)
    _record(member, store, outcome(member, store, base=25))
    third = outcome(member, store, base=25)
    assert third.awards == [(capped, 10)]  # 60 - 50 already given
    _record(member, store, third)
    assert outcome(member, store, base=25).points == 0
    assert outcome(other_member, store, base=25).points == 25  # per member
    assert PromotionAward.objects.filter(member=member).count() == 3


def test_an_uncapped_promotion_reads_no_member_state(member, store, django_assert_num_queries):
    promo()
    promotions_running(at=local(SAT))
    tier, program = bronze(), program_get()
    with django_assert_num_queries(0):
        assert not outcome(member, store, tier=tier, program=program).touches_member_state


def test_a_capped_promotion_reads_the_tally_in_one_query(member, store, django_assert_num_queries):
    promo("a", cap_points_per_member=100)
    promo("b", cap_points_per_member=100, stacking=Promotion.Stacking.STACKS)
    promotions_running(at=local(SAT))
    tier, program = bronze(), program_get()
    with django_assert_num_queries(1):
        assert outcome(member, store, tier=tier, program=program).points == 50


def test_an_award_is_recorded_once_per_promotion_and_purchase(member, store):
    from django.db import IntegrityError, transaction

    promo()
    result = outcome(member, store)
    purchase = _record(member, store, result)
    with pytest.raises(IntegrityError), transaction.atomic():
        promotion_awards_record(purchase=purchase, outcome=result)


# ---------------------------------------------------------------------------------------------
# Stacking


def test_highest_wins_among_exclusive_promotions(member, store):
    promo("double", multiplier=Decimal("2"))
    triple = promo("triple", multiplier=Decimal("3"))
    promo("bonus", kind=Promotion.Kind.FIXED_BONUS, bonus_points=30)
    result = outcome(member, store, base=25)
    assert result.awards == [(triple, 50)]
    assert result.points == 50


def test_stacking_promotions_add_to_the_best_exclusive_one(member, store):
    promo("double", multiplier=Decimal("2"))
    triple = promo("triple", multiplier=Decimal("3"))
    bonus = promo("bonus", kind=Promotion.Kind.FIXED_BONUS, bonus_points=30, stacking="stacks")
    extra = promo("extra", multiplier=Decimal("1.2"), stacking="stacks")
    result = outcome(member, store, base=25)
    assert result.awards == [(triple, 50), (bonus, 30), (extra, 5)]
    assert result.points == 85


def test_stacked_multipliers_add_their_extras_on_the_same_base(member, store):
    promo("double", multiplier=Decimal("2"), stacking="stacks")
    promo("triple", multiplier=Decimal("3"), stacking="stacks")
    assert points(member, store, base=10) == 10 + 20  # 4x in all, not 6x


def test_a_capped_out_exclusive_promotion_lets_the_next_best_win(member, store):
    triple = promo("triple", multiplier=Decimal("3"), cap_points_per_member=50)
    double = promo("double", multiplier=Decimal("2"))
    _record(member, store, outcome(member, store, base=25))
    assert PromotionAward.objects.get().promotion == triple
    result = outcome(member, store, base=25)
    assert result.awards == [(double, 25)]


def test_a_tie_goes_to_the_earliest_created(member, store):
    first = promo("first", multiplier=Decimal("2"))
    promo("second", kind=Promotion.Kind.FIXED_BONUS, bonus_points=25)
    assert outcome(member, store, base=25).awards == [(first, 25)]


# ---------------------------------------------------------------------------------------------
# What the POS reads


def test_running_promotions_are_cached_and_forgotten_when_one_is_saved(
    member, store, django_assert_num_queries
):
    double = promo()
    assert promotions_running(at=local(SAT)) == [double]
    with django_assert_num_queries(0):
        promotions_running(at=local(SAT))
    double.is_active = False
    double.save()
    assert promotions_running(at=local(SAT)) == []


def test_changing_a_promotions_stores_clears_the_cache(member, store, other_store):
    double = promo()
    assert points(member, other_store) == 25
    double.stores.set([store])
    assert points(member, other_store) == 0


def test_running_means_in_its_period_whatever_the_day(member):
    weekend = promo(days_of_week=[6, 7])
    assert promotions_running(at=local(FRI)) == [weekend]
    assert promotions_running(at=local(date(2026, 6, 1))) == []


def test_a_back_dated_purchase_gets_the_promotion_of_its_time(member, store):
    promo(ends_at=datetime(2026, 5, 10, 0, 0, tzinfo=VN))
    with time_machine.travel(local(date(2026, 5, 20)), tick=False):
        assert points(member, store, at=local(SAT)) == 25


def test_public_body(store):
    gold = Tier.objects.get(code="gold")
    weekend = promo(
        "weekend",
        name_en="Double weekend",
        days_of_week=[7, 6],
        start_time=time(18, 0),
        min_amount=Decimal("100000"),
        categories=["dairy"],
        cap_points_per_member=500,
        tiers=[gold],
        stores=[store],
    )
    [running] = promotions_running(at=local(SAT))
    body = promotion_public_body(running)
    assert body == {
        "code": "weekend",
        "name": "Khuyến mãi weekend",
        "name_en": "Double weekend",
        "description": "",
        "kind": "multiplier",
        "multiplier": "2",
        "bonus_points": None,
        "min_amount": "100000",
        "starts_at": "2026-05-01T00:00:00+07:00",
        "ends_at": "2026-06-01T00:00:00+07:00",
        "days_of_week": [6, 7],
        "hours": {"from": "18:00", "until": None},
        "stacking": "exclusive_best",
        "cap_points_per_member": 500,
        "restrictions": {
            "tiers": ["gold"],
            "stores": ["HCM01"],
            "segment": None,
            "categories": ["dairy"],
            "skus": [],
        },
    }
    assert promotion_public_body(Promotion.objects.get(pk=weekend.pk)) == body


def test_awards_body_names_the_promotions_that_gave_points(member, store):
    promo("double")
    assert promotion_awards_body(outcome(member, store, base=25)) == [
        {"code": "double", "name": "Khuyến mãi double", "points": 25}
    ]


def test_the_model_refuses_a_multiplier_without_a_multiplier():
    from django.core.exceptions import ValidationError

    bad = Promotion(
        code="x",
        name="x",
        kind=Promotion.Kind.MULTIPLIER,
        multiplier=Decimal("1"),
        starts_at=START,
        ends_at=END,
    )
    with pytest.raises(ValidationError) as caught:
        bad.full_clean()
    assert "multiplier" in caught.value.message_dict
