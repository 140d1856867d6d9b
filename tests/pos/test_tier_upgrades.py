"""The purchase that crosses a tier threshold upgrades its member at once (the POS answer says
``tier_changed: true``), the next purchase earns at the new rate, and a return inside the
return window undoes the upgrade it caused. On PostgreSQL a plain earn takes the one-statement
fast path and a purchase paying with points the ORM path; both are exercised here."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from members.models import PointAccount
from members.selectors import ledger_discrepancies, program_get
from members.services.points import points_grant
from tests.factories import PurchaseFactory
from tests.pos.helpers import HCM, NOW, assert_error
from tiers.models import MemberTier, Tier, TierChange
from tiers.services import tier_set_manually

pytestmark = pytest.mark.django_db

TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def earlier_purchase(member, store, amount, *, days_ago=10, external_id=None):
    """A purchase recorded before (imported history), inside the tier window."""
    amount = Decimal(amount)
    return PurchaseFactory(
        member=member,
        store=store,
        occurred_at=NOW - timedelta(days=days_ago),
        total_amount=amount,
        amount_due=amount,
        **({"external_id": external_id} if external_id else {}),
    )


def buy(pos, member, external_id, total, **extra):
    response = pos.purchase(
        {"external_id": external_id, "member": member.card_number, "total_amount": total, **extra}
    )
    assert response.status_code == 201, response.content
    return response.json()


def tier_of(member) -> str:
    status = MemberTier.objects.filter(member=member).select_related("tier").first()
    return status.tier.code if status else "bronze"


# Silver needs 5,000,000 VND net and 3 purchases in the 12-month window.


def test_the_purchase_that_crosses_silver_upgrades_at_once_and_says_so(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)

    body = buy(pos, member, "R-UP", "1000000")

    assert body["tier"] == {"code": "silver", "name": Tier.objects.get(code="silver").name}
    assert body["tier_changed"] is True
    # Earned at the rate of the tier held when buying: bronze 1.0x.
    assert body["points_earned"] == 100
    status = MemberTier.objects.get(member=member)
    assert (status.tier.code, status.since, status.retained_until) == (
        "silver",
        TODAY,
        date(2027, 3, 31),
    )
    change = TierChange.objects.get(member=member)
    assert (change.reason, change.from_tier, change.to_tier.code, change.purchase.external_id) == (
        "upgrade",
        None,
        "silver",
        "R-UP",
    )


def test_the_next_purchase_earns_at_the_new_tiers_multiplier(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)
    buy(pos, member, "R-UP", "1000000")

    body = buy(pos, member, "R-NEXT", "1000000")

    assert body["points_earned"] == 125  # 100 x silver's 1.25
    assert body["tier"]["code"] == "silver" and body["tier_changed"] is False


def test_one_dong_short_of_the_spend_is_no_upgrade(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)

    body = buy(pos, member, "R-1", "999999")

    assert (body["tier"]["code"], body["tier_changed"]) == ("bronze", False)
    assert not TierChange.objects.exists()


def test_enough_spend_in_too_few_purchases_is_no_upgrade(pos, member, store):
    earlier_purchase(member, store, "4000000", days_ago=20)

    body = buy(pos, member, "R-1", "2000000")  # 6,000,000 in 2 purchases

    assert (body["tier"]["code"], body["tier_changed"]) == ("bronze", False)
    assert not TierChange.objects.exists()


def test_purchases_outside_the_window_do_not_count(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=400)
    earlier_purchase(member, store, "2000000", days_ago=10)

    body = buy(pos, member, "R-1", "2000000")

    assert body["tier_changed"] is False and tier_of(member) == "bronze"


def test_a_big_purchase_can_jump_several_tiers(pos, member, store):
    for days in range(1, 20):
        earlier_purchase(member, store, "2500000", days_ago=days)  # 47,500,000 in 19

    body = buy(pos, member, "R-BIG", "3000000")  # 50,500,000 in 20: diamond

    assert (body["tier"]["code"], body["tier_changed"]) == ("diamond", True)
    assert TierChange.objects.get(member=member).to_tier.code == "diamond"


def test_an_upgrade_paid_partly_with_points_goes_the_orm_path_and_upgrades_too(pos, member, store):
    points_grant(
        member=member, points=50, idempotency_key="gift", reason="test", program=program_get()
    )
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)

    body = buy(pos, member, "R-UP", "1000000", redeem_points=10)

    assert (body["tier"]["code"], body["tier_changed"]) == ("silver", True)
    assert TierChange.objects.get(member=member).purchase.external_id == "R-UP"


def test_a_replayed_upgrade_answers_the_same_and_records_one_change(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)
    first = buy(pos, member, "R-UP", "1000000")

    again = pos.purchase(
        {"external_id": "R-UP", "member": member.card_number, "total_amount": "1000000"}
    )

    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first
    assert TierChange.objects.filter(member=member).count() == 1


def test_an_upgrade_keeps_a_staff_lock_and_never_moves_anyone_down(
    pos, member, store, program_admin
):
    tier_set_manually(
        member=member,
        tier=Tier.objects.get(code="gold"),
        reason="Partner",
        acting_user=program_admin,
        locked_until=date(2026, 12, 31),
    )
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)

    body = buy(pos, member, "R-1", "1000000")  # qualifies for silver only

    assert (body["tier"]["code"], body["tier_changed"]) == ("gold", False)
    assert MemberTier.objects.get(member=member).locked_until == date(2026, 12, 31)


def test_a_quote_never_upgrades(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)

    body = pos.quote({"member": member.card_number, "total_amount": "1000000"}).json()

    assert body["tier_changed"] is False
    assert not MemberTier.objects.filter(member=member).exists()


# ---------------------------------------------------------------- returns


def upgraded(pos, member, store, *, held=None):
    """Member at silver through purchase R-UP (with an earlier tier row if ``held``)."""
    if held:
        MemberTier.objects.create(
            member=member,
            tier=Tier.objects.get(code=held),
            since=date(2026, 1, 5),
            retained_until=date(2027, 1, 31),
        )
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)
    body = buy(pos, member, "R-UP", "1000000")
    assert body["tier_changed"] is True
    return body


def test_a_return_inside_the_window_that_crosses_back_undoes_the_upgrade(pos, member, store):
    upgraded(pos, member, store, held="bronze")

    response = pos.give_back("R-UP", {"external_id": "RET-1", "amount": "1"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["tier"]["code"], body["tier_changed"]) == ("bronze", True)
    status = MemberTier.objects.get(member=member)
    # The tier it had, with the dates it had.
    assert (status.tier.code, status.since, status.retained_until) == (
        "bronze",
        date(2026, 1, 5),
        date(2027, 1, 31),
    )
    undo = TierChange.objects.filter(member=member).first()
    assert (undo.reason, undo.from_tier.code, undo.to_tier.code, undo.purchase.external_id) == (
        "return",
        "silver",
        "bronze",
        "R-UP",
    )


def test_a_return_that_still_leaves_the_member_qualified_keeps_the_upgrade(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20)
    earlier_purchase(member, store, "2000000", days_ago=10)
    buy(pos, member, "R-UP", "2000000")  # 6,000,000 in 3

    body = pos.give_back("R-UP", {"external_id": "RET-1", "amount": "1000000"}).json()

    assert (body["tier"]["code"], body["tier_changed"]) == ("silver", False)


def test_a_return_after_the_return_window_keeps_the_upgrade(pos, member, store, frozen_clock):
    upgraded(pos, member, store)
    pending_days = program_get().pending_days
    frozen_clock.move_to(NOW + timedelta(days=pending_days + 1))

    body = pos.give_back("R-UP", {"external_id": "RET-1", "amount": "1000000"}).json()

    assert (body["tier"]["code"], body["tier_changed"]) == ("silver", False)


def test_a_return_on_the_last_day_of_the_window_still_undoes_it(pos, member, store, frozen_clock):
    upgraded(pos, member, store)
    last_day = TODAY + timedelta(days=program_get().pending_days)
    frozen_clock.move_to(datetime.combine(last_day, time(21, 0), tzinfo=HCM))

    body = pos.give_back("R-UP", {"external_id": "RET-1", "amount": "1000000"}).json()

    assert (body["tier"]["code"], body["tier_changed"]) == ("bronze", True)


def test_returning_another_purchase_does_not_undo_the_upgrade(pos, member, store):
    earlier_purchase(member, store, "2000000", days_ago=20, external_id="OLD-1")
    earlier_purchase(member, store, "2000000", days_ago=10)
    buy(pos, member, "R-UP", "1000000")

    body = pos.give_back("OLD-1", {"external_id": "RET-1", "amount": "2000000"}).json()

    assert (body["tier"]["code"], body["tier_changed"]) == ("silver", False)


def test_a_later_tier_change_is_not_undone_by_a_return(pos, member, store, program_admin):
    upgraded(pos, member, store)
    tier_set_manually(
        member=member,
        tier=Tier.objects.get(code="gold"),
        reason="Goodwill",
        acting_user=program_admin,
    )

    body = pos.give_back("R-UP", {"external_id": "RET-1", "amount": "1000000"}).json()

    assert (body["tier"]["code"], body["tier_changed"]) == ("gold", False)


def test_an_undo_goes_to_the_tier_still_qualified_for_not_below(pos, member, store):
    # Silver already held; gold reached by R-UP; returning half of it leaves silver.
    for days in range(1, 10):
        earlier_purchase(member, store, "2000000", days_ago=days)  # 18,000,000 in 9
    MemberTier.objects.create(
        member=member,
        tier=Tier.objects.get(code="silver"),
        since=date(2026, 1, 5),
        retained_until=date(2027, 1, 31),
    )
    assert buy(pos, member, "R-UP", "2000000")["tier"]["code"] == "gold"

    body = pos.give_back("R-UP", {"external_id": "RET-1", "amount": "2000000"}).json()

    assert (body["tier"]["code"], body["tier_changed"]) == ("silver", True)
    assert MemberTier.objects.get(member=member).since == date(2026, 1, 5)


def test_the_ledger_stays_exact_through_upgrade_and_undo(pos, member, store):
    upgraded(pos, member, store)
    pos.give_back("R-UP", {"external_id": "RET-1", "amount": "1000000"})

    assert ledger_discrepancies() == []
    assert PointAccount.objects.get(pk=member.pk).pending == 0


def test_a_return_of_an_unknown_purchase_is_still_404(pos, member):
    assert_error(pos.give_back("NOPE", {"external_id": "RET-1", "amount": "1"}), 404, "not_found")
