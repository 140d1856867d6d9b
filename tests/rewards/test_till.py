"""Vouchers at the till: checked for owner, dates, minimum spend and status; discounts in the
order given, never more than the bill; consumed once; given back once by a full return."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from loyalty.errors import DomainError
from members.models import Purchase
from rewards.codes import voucher_code_display, voucher_code_generate
from rewards.models import Reward, Voucher
from rewards.selectors import voucher_discount_body, voucher_find
from rewards.services import (
    VoucherApplication,
    voucher_cancel,
    voucher_issue_goodwill,
    vouchers_consume_locked,
    vouchers_expire_due,
    vouchers_for_purchase,
    vouchers_restore_for_return,
)
from tests.factories import PurchaseFactory
from tests.rewards.conftest import give_points, local, make_reward, purchase_with, redeem

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(local(2026, 6, 15), tick=False):
        yield


@pytest.fixture
def rich(member):
    give_points(member, 100_000)
    return member


def amount_voucher(member, amount="50000", **fields):
    return redeem(member, make_reward(discount_amount=Decimal(amount), **fields))


def percent_voucher(member, percent="10", cap=None, **fields):
    reward = make_reward(
        kind=Reward.Kind.PERCENT,
        discount_percent=Decimal(percent),
        discount_cap=Decimal(cap) if cap else None,
        **fields,
    )
    return redeem(member, reward)


def quote(member, codes, amount="300000", today=TODAY):
    return vouchers_for_purchase(
        codes=codes, member=member, amount=Decimal(amount), today=today, lock=False
    )


def refused(member, codes, amount="300000", today=TODAY) -> DomainError:
    with pytest.raises(DomainError) as info:
        quote(member, codes, amount, today)
    return info.value


def test_no_codes_is_no_discount_and_no_query(member, django_assert_num_queries):
    with django_assert_num_queries(0):
        application = quote(member, [])
    assert (application.vouchers, application.discount) == ([], Decimal(0))


def test_a_valid_fixed_amount_voucher_takes_its_amount_off(rich):
    voucher = amount_voucher(rich, "50000")
    application = quote(rich, [voucher.code])
    assert application.vouchers == [voucher]
    assert application.discount == Decimal("50000")


def test_codes_are_accepted_as_shown_or_typed(rich):
    voucher = amount_voucher(rich)
    typed = voucher_code_display(voucher.code).lower().replace("-", " ")
    assert quote(rich, [typed]).vouchers == [voucher]


def test_vouchers_apply_in_order_each_on_what_is_left(rich):
    fixed = amount_voucher(rich, "100000")
    percent = percent_voucher(rich, "10")
    assert quote(rich, [fixed.code, percent.code], "300000").discount == Decimal("120000")
    assert quote(rich, [percent.code, fixed.code], "300000").discount == Decimal("130000")


def test_a_percentage_is_capped_and_rounded_down_to_the_cent(rich):
    capped = percent_voucher(rich, "10", cap="20000")
    assert quote(rich, [capped.code], "1000000").discount == Decimal("20000")
    odd = percent_voucher(rich, "12.5")
    assert quote(rich, [odd.code], "1000.05").discount == Decimal("125.00")


def test_the_discount_never_exceeds_the_bill(rich):
    first = amount_voucher(rich, "80000")
    second = amount_voucher(rich, "80000")
    application = quote(rich, [first.code, second.code], "100000")
    assert application.discount == Decimal("100000")
    assert application.discounts == [Decimal("80000"), Decimal("20000")]


def test_a_gift_voucher_takes_its_value_off_and_one_without_value_nothing(rich):
    drink = redeem(rich, make_reward(kind=Reward.Kind.PRODUCT, discount_amount=Decimal("45000")))
    gift = redeem(rich, make_reward(kind=Reward.Kind.PRODUCT))
    application = quote(rich, [drink.code, gift.code])
    assert application.discounts == [Decimal("45000"), Decimal(0)]


def test_an_unknown_code_is_voucher_invalid(member):
    code = voucher_code_generate()  # well formed, but nobody has it
    error = refused(member, [code])
    assert (error.code, error.details["reason"]) == ("voucher_invalid", "not_found")


def test_a_mistyped_code_is_caught_by_its_check_character(rich):
    voucher = amount_voucher(rich)
    last = voucher.code[-1]
    typo = voucher.code[:-1] + ("2" if last != "2" else "3")
    error = refused(rich, [typo])
    assert (error.code, error.details["reason"]) == ("voucher_invalid", "checksum")


def test_someone_elses_voucher_is_voucher_invalid(rich, other_member):
    voucher = amount_voucher(rich)
    error = refused(other_member, [voucher.code])
    assert error.code == "voucher_invalid"
    assert error.details["reason"] == "not_found"  # says no more than for an unknown code


def test_a_used_voucher_is_voucher_used(rich):
    voucher = amount_voucher(rich)
    purchase_with(rich, [voucher.code])
    error = refused(rich, [voucher.code])
    assert (error.code, error.details["status"]) == ("voucher_used", "used")


def test_a_cancelled_voucher_is_voucher_used(rich):
    voucher = amount_voucher(rich)
    voucher_cancel(voucher=voucher, member=rich)
    error = refused(rich, [voucher.code])
    assert (error.code, error.details["status"]) == ("voucher_used", "cancelled")


def test_a_voucher_is_valid_through_its_last_day(rich):
    voucher = amount_voucher(rich, voucher_valid_days=10)
    last_day = date(2026, 6, 24)
    assert voucher.valid_until == last_day
    assert quote(rich, [voucher.code], today=last_day).discount == Decimal("50000")
    error = refused(rich, [voucher.code], today=date(2026, 6, 25))
    assert (error.code, error.details["valid_until"]) == ("voucher_expired", "2026-06-24")


def test_a_voucher_marked_expired_is_voucher_expired(rich):
    voucher = amount_voucher(rich, voucher_valid_days=1)
    vouchers_expire_due(today=date(2026, 6, 16))
    assert refused(rich, [voucher.code]).code == "voucher_expired"


def test_a_voucher_before_its_first_day_is_voucher_expired(rich):
    voucher = amount_voucher(rich)
    error = refused(rich, [voucher.code], today=date(2026, 6, 14))
    assert (error.code, error.details["valid_from"]) == ("voucher_expired", "2026-06-15")


def test_a_bill_below_the_minimum_spend_is_voucher_min_spend(rich):
    voucher = amount_voucher(rich, min_spend=Decimal("200000"))
    error = refused(rich, [voucher.code], amount="199999.99")
    assert (error.code, error.details["min_spend"]) == ("voucher_min_spend", "200000")
    assert quote(rich, [voucher.code], amount="200000").discount == Decimal("50000")


def test_the_minimum_spend_is_of_the_bill_not_what_earlier_vouchers_left(rich):
    first = amount_voucher(rich, "100000")
    second = amount_voucher(rich, "50000", min_spend=Decimal("250000"))
    assert quote(rich, [first.code, second.code], "250000").discount == Decimal("150000")


def test_a_partner_voucher_is_not_used_at_our_tills(rich):
    from rewards.services import partner_codes_import

    reward = make_reward(kind=Reward.Kind.PARTNER)
    partner_codes_import(reward=reward, rows=[(1, "P1")])
    voucher = redeem(rich, reward)
    error = refused(rich, [voucher.code])
    assert (error.code, error.details["reason"]) == ("voucher_invalid", "partner")


def test_the_same_code_twice_is_a_validation_error(rich):
    voucher = amount_voucher(rich)
    error = refused(rich, [voucher.code, voucher_code_display(voucher.code).lower()])
    assert error.code == "validation_error"
    assert "voucher_codes" in error.details


def test_the_first_bad_code_in_the_list_is_reported(rich):
    good = amount_voucher(rich)
    used = amount_voucher(rich)
    purchase_with(rich, [used.code])
    assert refused(rich, [good.code, used.code]).code == "voucher_used"


def test_consuming_marks_the_vouchers_used_on_the_purchase(rich):
    voucher = amount_voucher(rich, "50000")
    purchase, application = purchase_with(rich, [voucher.code], total="300000")
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_on, voucher.discount_applied) == (
        "used",
        purchase,
        Decimal("50000"),
    )
    assert voucher.used_at is not None
    assert purchase.voucher_discount == application.discount == Decimal("50000")


def test_a_voucher_is_consumed_once(rich):
    voucher = amount_voucher(rich)
    with transaction.atomic():
        application = quote(rich, [voucher.code])  # read before the other till used it
    first, _ = purchase_with(rich, [voucher.code])
    with pytest.raises(DomainError) as second, transaction.atomic():
        vouchers_consume_locked(application=application, purchase=PurchaseFactory(member=rich))
    assert second.value.code == "voucher_used"
    voucher.refresh_from_db()
    assert voucher.used_on == first
    assert Voucher.objects.filter(status="used").count() == 1


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_consuming_outside_a_transaction_is_refused(rich):
    voucher = amount_voucher(rich)
    application = quote(rich, [voucher.code])
    with pytest.raises(RuntimeError):
        vouchers_consume_locked(application=application, purchase=PurchaseFactory(member=rich))
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"


def test_an_empty_application_consumes_nothing(member):
    with transaction.atomic():
        vouchers_consume_locked(
            application=VoucherApplication(), purchase=PurchaseFactory(member=member)
        )
    assert Voucher.objects.count() == 0


def _return_fully(purchase):
    Purchase.objects.filter(pk=purchase.pk).update(returned_amount=purchase.total_amount)


def test_a_full_return_gives_the_vouchers_back_once(rich):
    first = amount_voucher(rich, "50000")
    second = percent_voucher(rich, "10")
    purchase, _ = purchase_with(rich, [first.code, second.code])
    _return_fully(purchase)

    assert vouchers_restore_for_return(purchase=purchase) == 2
    assert vouchers_restore_for_return(purchase=purchase) == 0

    for voucher in (first, second):
        voucher.refresh_from_db()
        assert (voucher.status, voucher.used_on, voucher.used_at) == ("issued", None, None)
        assert (voucher.restored_from, voucher.discount_applied) == (purchase, None)
        assert voucher.valid_until == date(2026, 7, 14)  # its own date, not extended
    assert quote(rich, [first.code]).discount == Decimal("50000")  # usable again


def test_a_partial_return_gives_nothing_back(rich):
    voucher = amount_voucher(rich)
    purchase, _ = purchase_with(rich, [voucher.code], total="300000")
    Purchase.objects.filter(pk=purchase.pk).update(returned_amount=Decimal("299999"))
    assert vouchers_restore_for_return(purchase=purchase) == 0
    assert Voucher.objects.get(pk=voucher.pk).status == "used"


def test_a_voucher_given_back_after_its_last_day_is_expired(rich):
    voucher = amount_voucher(rich, voucher_valid_days=2)
    purchase, _ = purchase_with(rich, [voucher.code])
    _return_fully(purchase)
    with time_machine.travel(local(2026, 6, 17), tick=False):
        assert vouchers_restore_for_return(purchase=purchase) == 1
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_on) == ("expired", None)


def test_a_voucher_given_back_and_used_again_is_not_given_back_by_the_first_return(rich):
    voucher = amount_voucher(rich)
    first, _ = purchase_with(rich, [voucher.code])
    _return_fully(first)
    vouchers_restore_for_return(purchase=first)
    second, _ = purchase_with(rich, [voucher.code])
    assert vouchers_restore_for_return(purchase=first) == 0
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_on) == ("used", second)


def test_voucher_find_normalises_and_checks_before_querying(rich, django_assert_num_queries):
    voucher = amount_voucher(rich)
    with django_assert_num_queries(1):
        found = voucher_find(voucher_code_display(voucher.code).lower())
        assert (found, found.reward.pk, found.member.pk) == (voucher, voucher.reward_id, rich.pk)
    with django_assert_num_queries(0):
        assert voucher_find(voucher.code[:-1] + ("2" if voucher.code[-1] != "2" else "3")) is None
        assert voucher_find("") is None


def test_the_discount_body_describes_each_kind_for_the_pos(rich, program_admin):
    fixed = amount_voucher(rich, "50000", min_spend=Decimal("200000"))
    assert voucher_discount_body(fixed) == {
        "kind": "amount",
        "amount": "50000",
        "min_spend": "200000",
    }
    percent = percent_voucher(rich, "10", cap="100000")
    assert voucher_discount_body(percent) == {
        "kind": "percent",
        "percent": "10",
        "cap": "100000",
        "min_spend": "0",
    }
    uncapped = percent_voucher(rich, "12.5")
    assert voucher_discount_body(uncapped)["percent"] == "12.5"
    assert voucher_discount_body(uncapped)["cap"] is None
    delivery = voucher_issue_goodwill(
        member=rich,
        reward=make_reward(kind=Reward.Kind.DELIVERY, discount_amount=Decimal("30000")),
        reason="late order",
        acting_user=program_admin,
    )
    assert voucher_discount_body(delivery) == {
        "kind": "delivery",
        "amount": "30000",
        "min_spend": "0",
    }
