"""Vouchers and rewards through the POS API: paying with a voucher (valid, expired, used,
someone else's, below the minimum, mistyped), a full return giving it back once, the voucher
lookup, the member's catalogue and redeeming at the till (idempotent, server-priced)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from members.models import PointAccount, PointEntry, Purchase
from members.selectors import ledger_discrepancies, program_get
from members.services import member_block
from members.services.points import points_grant
from rewards.models import Reward, Voucher
from rewards.services import reward_redeem
from tests.pos.helpers import NOW, PosClient, assert_error
from tiers.models import Tier

pytestmark = pytest.mark.django_db

TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def give_points(member, points, key="gift"):
    points_grant(
        member=member, points=points, idempotency_key=key, reason="test", program=program_get()
    )


def make_reward(code="giam-50k", **fields) -> Reward:
    values = {
        "kind": "amount",
        "name": "Giảm 50.000đ",
        "points_cost": 500,
        "discount_amount": Decimal("50000"),
        "min_spend": Decimal("200000"),
        "voucher_valid_days": 30,
        **fields,
    }
    return Reward.objects.create(code=code, **values)


def voucher_for(member, reward=None, key="") -> Voucher:
    reward = reward or make_reward()
    give_points(member, reward.points_cost, key=f"for-{reward.code}-{member.pk}{key}")
    return reward_redeem(member=member, reward=reward)


def sale(member, external_id="R-1", total="1250000", **extra):
    return {
        "external_id": external_id,
        "member": member.card_number,
        "total_amount": total,
        **extra,
    }


def nothing_written(before_purchases: int, voucher: Voucher) -> None:
    assert Purchase.objects.count() == before_purchases
    voucher.refresh_from_db()
    assert voucher.status == "issued" and voucher.used_on is None


# ---------------------------------------------------------------- paying with a voucher


def test_a_valid_voucher_pays_part_of_the_bill_and_points_are_earned_on_the_rest(pos, member):
    voucher = voucher_for(member)

    response = pos.purchase(sale(member, voucher_codes=[voucher.code_display]))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["voucher_discount"], body["amount_due"], body["points_earned"]) == (
        "50000",
        "1200000",
        120,
    )
    assert body["vouchers"] == [{"code": voucher.code, "discount": "50000"}]
    voucher.refresh_from_db()
    assert voucher.status == "used" and voucher.used_on.external_id == "R-1"
    assert ledger_discrepancies() == []


def test_a_voucher_typed_in_lower_case_without_dashes_is_accepted(pos, member):
    voucher = voucher_for(member)

    response = pos.purchase(sale(member, voucher_codes=[voucher.code.lower()]))

    assert response.status_code == 201, response.content


def test_a_used_voucher_is_422_voucher_used_and_nothing_is_written(pos, member):
    voucher = voucher_for(member)
    assert pos.purchase(sale(member, voucher_codes=[voucher.code])).status_code == 201
    before = Purchase.objects.count()

    assert_error(
        pos.purchase(sale(member, "R-2", voucher_codes=[voucher.code])), 422, "voucher_used"
    )
    assert Purchase.objects.count() == before


def test_a_voucher_past_its_last_day_is_422_voucher_expired(pos, member, frozen_clock):
    voucher = voucher_for(member)
    frozen_clock.move_to(NOW + timedelta(days=30))  # valid 30 days counting the first
    before = Purchase.objects.count()

    details = assert_error(
        pos.purchase(sale(member, voucher_codes=[voucher.code])), 422, "voucher_expired"
    )

    assert details["valid_until"] == voucher.valid_until.isoformat()
    nothing_written(before, voucher)


def test_a_voucher_on_its_last_day_is_still_good(pos, member, frozen_clock):
    voucher = voucher_for(member)
    frozen_clock.move_to(NOW + timedelta(days=29))

    assert pos.purchase(sale(member, voucher_codes=[voucher.code])).status_code == 201


def test_someone_elses_voucher_is_422_voucher_invalid(pos, member, other_member):
    voucher = voucher_for(other_member)
    before = Purchase.objects.count()

    assert_error(pos.purchase(sale(member, voucher_codes=[voucher.code])), 422, "voucher_invalid")
    nothing_written(before, voucher)


def test_a_mistyped_or_unknown_code_is_422_voucher_invalid(pos, member):
    voucher = voucher_for(member)
    typo = ("B" if voucher.code[0] != "B" else "C") + voucher.code[1:]

    assert_error(pos.purchase(sale(member, voucher_codes=[typo])), 422, "voucher_invalid")
    assert_error(pos.purchase(sale(member, voucher_codes=["NOPE"])), 422, "voucher_invalid")


def test_a_bill_below_the_minimum_is_422_voucher_min_spend_and_at_it_is_accepted(pos, member):
    voucher = voucher_for(member)

    details = assert_error(
        pos.purchase(sale(member, total="199999", voucher_codes=[voucher.code])),
        422,
        "voucher_min_spend",
    )
    assert details["min_spend"] == "200000"
    response = pos.purchase(sale(member, "R-2", total="200000", voucher_codes=[voucher.code]))
    assert response.status_code == 201
    assert response.json()["amount_due"] == "150000"


def test_a_percentage_voucher_takes_its_share_up_to_its_cap(pos, member):
    reward = make_reward(
        "giam-10",
        kind="percent",
        discount_amount=None,
        discount_percent=Decimal("10"),
        discount_cap=Decimal("100000"),
        min_spend=Decimal("0"),
    )
    small = voucher_for(member, reward)
    body = pos.purchase(sale(member, total="300000", voucher_codes=[small.code])).json()
    assert body["voucher_discount"] == "30000"
    big = voucher_for(member, reward, key="2")
    body = pos.purchase(sale(member, "R-2", total="5000000", voucher_codes=[big.code])).json()
    assert body["voucher_discount"] == "100000"


def test_a_voucher_worth_more_than_the_bill_takes_only_the_bill(pos, member):
    voucher = voucher_for(member, make_reward("giam-50k-any", min_spend=Decimal("0")))

    body = pos.purchase(sale(member, total="30000", voucher_codes=[voucher.code])).json()

    assert (body["voucher_discount"], body["amount_due"], body["points_earned"]) == (
        "30000",
        "0",
        0,
    )


def test_points_and_a_voucher_together_and_points_beyond_what_is_left_are_refused(pos, member):
    voucher = voucher_for(member)
    give_points(member, 1000, key="more")
    # 250,000 - 50,000 voucher = 200,000 left: at most 2,000 points of 100 VND.
    details = assert_error(
        pos.purchase(
            sale(member, total="250000", redeem_points=2001, voucher_codes=[voucher.code])
        ),
        422,
        "redeem_exceeds_amount",
    )
    assert details["max_redeemable_points"] == 1000
    body = pos.purchase(
        sale(member, total="250000", redeem_points=1000, voucher_codes=[voucher.code])
    ).json()
    assert (body["voucher_discount"], body["points_discount"], body["amount_due"]) == (
        "50000",
        "100000",
        "100000",
    )


def test_the_same_code_twice_in_one_purchase_is_refused(pos, member):
    voucher = voucher_for(member)

    assert_error(
        pos.purchase(sale(member, voucher_codes=[voucher.code, voucher.code])),
        400,
        "validation_error",
    )


def test_a_quote_prices_the_voucher_without_using_it(pos, member):
    voucher = voucher_for(member)

    body = pos.quote(
        {"member": member.card_number, "total_amount": "1250000", "voucher_codes": [voucher.code]}
    ).json()

    assert body["voucher_discount"] == "50000"
    voucher.refresh_from_db()
    assert voucher.status == "issued"


def test_a_replayed_purchase_with_a_voucher_answers_the_same(pos, member):
    voucher = voucher_for(member)
    first = pos.purchase(sale(member, voucher_codes=[voucher.code]))

    again = pos.purchase(sale(member, voucher_codes=[voucher.code]))

    assert again.status_code == 200 and again.json() == first.json()


# ---------------------------------------------------------------- returns


def test_a_full_return_gives_the_voucher_back_once_and_a_partial_one_does_not(pos, member):
    voucher = voucher_for(member)
    pos.purchase(sale(member, voucher_codes=[voucher.code]))

    partial = pos.give_back("R-1", {"external_id": "RET-1", "amount": "250000"}).json()
    assert partial["vouchers_restored"] == 0
    rest = pos.give_back("R-1", {"external_id": "RET-2", "amount": "1000000"}).json()

    assert rest["vouchers_restored"] == 1
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_on, voucher.restored_from.external_id) == (
        "issued",
        None,
        "R-1",
    )
    replay = pos.give_back("R-1", {"external_id": "RET-2", "amount": "1000000"})
    assert replay.status_code == 200 and replay.json()["vouchers_restored"] == 1
    assert Voucher.objects.filter(status="issued").count() == 1
    # Usable again, until its own date.
    assert pos.purchase(sale(member, "R-2", voucher_codes=[voucher.code])).status_code == 201


# ---------------------------------------------------------------- lookup


def test_the_till_looks_a_voucher_up_by_its_code(pos, member):
    voucher = voucher_for(member)

    body = pos.get(f"/vouchers/{voucher.code_display}/").json()

    assert body == {
        "code": voucher.code,
        "status": "issued",
        "member": member.card_number,
        "reward": {"id": voucher.reward_id, "name": "Giảm 50.000đ", "kind": "amount"},
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=29)).isoformat(),
        "discount": {"kind": "amount", "amount": "50000", "min_spend": "200000"},
    }


def test_a_voucher_past_its_date_reads_expired_before_the_daily_job(pos, member, frozen_clock):
    voucher = voucher_for(member)
    frozen_clock.move_to(NOW + timedelta(days=31))

    assert pos.get(f"/vouchers/{voucher.code}/").json()["status"] == "expired"


def test_an_unknown_voucher_is_404(pos):
    assert_error(pos.get("/vouchers/ABCD-EFGH-JK2/"), 404, "not_found")


# ---------------------------------------------------------------- catalogue and redeeming


def test_the_catalogue_as_the_member_sees_it_available_first_with_reasons(pos, member):
    make_reward("cheap", points_cost=100)
    make_reward("dear", points_cost=900)
    make_reward("gold-only", points_cost=50, min_tier=Tier.objects.get(code="gold"))
    give_points(member, 300)

    rows = pos.get(f"/members/{member.card_number}/rewards/").json()

    assert (rows[0]["available"], rows[0]["points_cost"]) == (True, 100)
    by_id = {r["id"]: r for r in rows}
    dear = by_id[Reward.objects.get(code="dear").pk]
    assert dear["available"] is False and "600" in dear["reason"]
    gold = by_id[Reward.objects.get(code="gold-only").pk]
    assert gold["available"] is False and gold["reason"]
    assert set(rows[0]) == {"id", "name", "kind", "points_cost", "available", "reason"}


def test_redeeming_at_the_till_spends_the_servers_price_and_issues_a_voucher(pos, member):
    reward = make_reward()
    give_points(member, 800)

    response = pos.post(
        f"/members/{member.card_number}/rewards/{reward.pk}/redeem/",
        {"external_id": "RDM-1", "points_cost": 1},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["balance"] == {"available": 300, "pending": 0}
    assert body["voucher"]["status"] == "issued"
    assert Voucher.objects.get(code=body["voucher"]["code"]).points_spent == 500


def test_a_repeated_redeem_spends_once_and_answers_the_same(pos, member):
    reward = make_reward()
    give_points(member, 1200)
    url = f"/members/{member.card_number}/rewards/{reward.pk}/redeem/"
    first = pos.post(url, {"external_id": "RDM-1"})

    again = pos.post(url, {"external_id": "RDM-1"})

    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Voucher.objects.count() == 1
    assert PointAccount.objects.get(pk=member.pk).available == 700


def test_redeeming_without_enough_points_or_stock_is_422_and_changes_nothing(pos, member):
    reward = make_reward(stock_total=1)
    give_points(member, 100)
    url = f"/members/{member.card_number}/rewards/{reward.pk}/redeem/"
    entries = PointEntry.objects.count()

    assert_error(pos.post(url, {"external_id": "RDM-1"}), 422, "insufficient_points")
    assert PointEntry.objects.count() == entries and not Voucher.objects.exists()


def test_redeeming_an_unknown_reward_or_for_an_unknown_card_is_404(pos, member):
    reward = make_reward()
    assert_error(
        pos.post(f"/members/{member.card_number}/rewards/999999/redeem/", {"external_id": "X"}),
        404,
        "not_found",
    )
    assert_error(
        pos.post(f"/members/000000000000/rewards/{reward.pk}/redeem/", {"external_id": "X"}),
        404,
        "not_found",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tills_presenting_one_voucher_at_once_use_it_once(client, store_key, member):
    voucher = voucher_for(member)
    raw = store_key[1]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def till(n: int) -> None:
        from django.test import Client

        try:
            barrier.wait()
            response = PosClient(Client(), raw).purchase(
                sale(member, f"R-{n}", voucher_codes=[voucher.code])
            )
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=till, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [201, 422]
    voucher.refresh_from_db()
    assert voucher.status == "used"
    assert Purchase.objects.count() == 1


def test_redeeming_a_reward_the_member_cannot_have_is_422_reward_unavailable_with_why(pos, member):
    reward = make_reward(min_tier=Tier.objects.get(code="gold"))
    give_points(member, 1000)

    details = assert_error(
        pos.post(
            f"/members/{member.card_number}/rewards/{reward.pk}/redeem/", {"external_id": "R1"}
        ),
        422,
        "reward_unavailable",
    )

    assert details["reason_code"] == "tier_too_low" and details["reason"]
    assert PointAccount.objects.get(pk=member.pk).available == 1000
    assert not Voucher.objects.exists()


def test_a_blocked_member_cannot_redeem(pos, member, support):
    reward = make_reward()
    give_points(member, 1000)
    member_block(member=member, reason="fraud", acting_user=support)

    assert_error(
        pos.post(
            f"/members/{member.card_number}/rewards/{reward.pk}/redeem/", {"external_id": "R1"}
        ),
        422,
        "member_blocked",
    )


def test_a_second_voucher_with_nothing_left_to_pay_stays_unused(pos, member):
    reward = make_reward("giam-50k-any", min_spend=Decimal("0"))
    first, second = voucher_for(member, reward), voucher_for(member, reward, key="2")

    body = pos.purchase(sale(member, total="50000", voucher_codes=[first.code, second.code])).json()

    assert body["vouchers"] == [{"code": first.code, "discount": "50000"}]
    second.refresh_from_db()
    assert second.status == "issued" and second.used_on is None


def test_an_offline_till_syncing_later_checks_the_voucher_on_the_purchase_day(
    pos, member, frozen_clock
):
    voucher = voucher_for(member)  # valid from today for 30 days, the last day included
    last_day = NOW + timedelta(days=29)
    frozen_clock.move_to(NOW + timedelta(days=31))  # synced two days after its last day

    response = pos.purchase(
        sale(member, occurred_at=last_day.isoformat(), voucher_codes=[voucher.code])
    )

    assert response.status_code == 201, response.content
    before_issue = pos.purchase(
        sale(
            member,
            "R-OLD",
            occurred_at=(NOW + timedelta(days=30)).isoformat(),  # the day before it was issued
            voucher_codes=[voucher_for(member, voucher.reward, key="3").code],
        )
    )
    assert_error(before_issue, 422, "voucher_expired")
