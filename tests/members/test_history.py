"""The member's points history (members.selectors.member_history / history_items and the
portal page): each entry in words, dated by the purchase, filtered, paginated, and read in
the same number of queries for 10 entries as for 10,000."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from members.models import PointEntry
from members.selectors import (
    HISTORY_GROUPS,
    history_items,
    member_history,
    program_get,
)
from members.services import points as ledger
from pos.services.purchases import PurchaseInput, ReturnInput, purchase_record
from pos.services.purchases import purchase_return_record as return_record

pytestmark = pytest.mark.django_db


def buy(member, store, receipt, total, *, days_ago=0, redeem=0):
    when = timezone.now() - timedelta(days=days_ago)
    purchase_record(
        store=store,
        data=PurchaseInput(
            external_id=receipt,
            member=member.card_number,
            total_amount=Decimal(total),
            occurred_at=when if days_ago else None,
            redeem_points=redeem,
        ),
    )


def grant(member, key, points=50, reason="Sinh nhật"):
    return ledger.points_grant(
        member=member, points=points, idempotency_key=key, reason=reason, program=program_get()
    )


def items_of(member, group=None):
    return history_items(member_history(member, group=group))


def test_a_backdated_purchase_reads_its_own_date_store_receipt_and_amount(member, store):
    buy(member, store, "HD-0042", "900000", days_ago=20)
    [item] = items_of(member)
    purchase_day = timezone.localdate(timezone.now() - timedelta(days=20))
    assert item.kind == "earn" and item.group == "earned"
    assert item.occurred_on == purchase_day
    assert item.occurred_on != timezone.localdate(item.recorded_at)
    assert (item.receipt, item.store_code, item.store_name) == ("HD-0042", "HCM01", "Quận 1")
    assert item.amount == Decimal("900000")
    assert item.points == 90
    assert "Quận 1" in item.title
    assert "HD-0042" in item.detail and "900.000" in item.detail


def test_pending_points_say_when_they_become_available(member, store):
    buy(member, store, "HD-1", "500000", days_ago=2)
    [item] = items_of(member)
    program = program_get()
    earned_on = timezone.localdate(timezone.now() - timedelta(days=2))
    assert item.status == "pending"
    assert item.available_on == earned_on + timedelta(days=program.pending_days)


def test_a_purchase_older_than_the_return_window_is_available_at_once(member, store):
    buy(member, store, "HD-OLD", "500000", days_ago=program_get().pending_days + 1)
    [item] = items_of(member)
    assert (item.status, item.available_on) == ("available", None)


def test_newest_first_by_the_purchase_date_not_the_recording_date(member, store):
    buy(member, store, "HD-A", "100000", days_ago=10)  # recorded first, bought 10 days ago
    buy(member, store, "HD-B", "100000", days_ago=25)  # recorded later, bought earlier
    grant(member, "activity:first_login:x")  # today
    assert [i.receipt for i in items_of(member)] == [None, "HD-A", "HD-B"]


def test_bonuses_say_which_bonus(member):
    grant(member, "activity:profile_completed:1")
    grant(member, "activity:purchase_review:9")
    grant(member, "referral:5:referrer")
    grant(member, "referral:6:referee")
    grant(member, "send:77", reason="Chúc mừng sinh nhật")
    with translation.override("en"):
        titles = {i.title: i.detail for i in items_of(member)}
    assert set(titles) == {
        "Bonus for completing your profile",
        "Bonus for reviewing a purchase",
        "Referral bonus: a friend you invited joined",
        "Referral bonus: you joined with a friend's code",
        "Campaign bonus",
    }
    assert titles["Campaign bonus"] == "Chúc mừng sinh nhật"  # the campaign's name


def test_paying_with_points_at_the_till_names_the_store_and_receipt(member, store):
    grant(member, "activity:first_login:1", points=100)
    buy(member, store, "HD-PAY", "300000", redeem=40)
    spent = items_of(member, "spent")
    assert [(i.kind, i.points, i.receipt, i.store_name) for i in spent] == [
        ("spend", -40, "HD-PAY", "Quận 1")
    ]
    assert "Quận 1" in spent[0].title and "HD-PAY" in spent[0].detail


def test_a_return_says_which_receipt(member, store):
    buy(member, store, "HD-RET", "1000000")
    return_record(
        store=store,
        purchase_external_id="HD-RET",
        data=ReturnInput(external_id="RT-1", amount=Decimal("400000")),
    )
    [item] = items_of(member, "returns")
    assert (item.kind, item.points, item.receipt, item.amount) == (
        "reverse",
        -40,
        "HD-RET",
        Decimal("400000"),
    )
    assert "HD-RET" in item.detail


def test_an_expiry_and_a_staff_adjustment_say_so(member, program_admin):
    grant(member, "activity:first_login:1", points=30)
    ledger.points_adjust(
        member=member,
        points=-10,
        reason="Nhập nhầm hôm qua",
        acting_user=program_admin,
        program=program_get(),
    )
    today = timezone.localdate()
    lot = member.point_lots.get()
    member.point_lots.filter(pk=lot.pk).update(expires_on=today - timedelta(days=1))
    ledger.points_expire_due(today=today)
    [expired] = items_of(member, "expired")
    assert (expired.kind, expired.points, expired.group) == ("expire", -20, "expired")
    [deducted] = [i for i in items_of(member, "spent") if i.kind == "adjust"]
    assert deducted.points == -10 and deducted.detail == "Nhập nhầm hôm qua"


def test_groups_filter_and_an_unknown_group_is_an_error(member, store):
    buy(member, store, "HD-G", "1000000")
    grant(member, "send:1")
    return_record(
        store=store,
        purchase_external_id="HD-G",
        data=ReturnInput(external_id="RT-G", amount=Decimal("1000000")),
    )
    assert {i.kind for i in items_of(member, "earned")} == {"earn", "bonus"}
    assert {i.kind for i in items_of(member, "returns")} == {"reverse"}
    assert items_of(member, "expired") == []
    assert {i.group for i in items_of(member)} == {"earned", "returns"}
    assert HISTORY_GROUPS == ("earned", "spent", "expired", "returns")
    with pytest.raises(ValueError):
        member_history(member, group="everything")


def test_words_follow_the_language_active_at_the_call(member):
    grant(member, "activity:first_login:1")
    entries = list(member_history(member))
    with translation.override("en"):
        english = history_items(entries)[0]
    assert english.title == "Bonus for your first login"
    assert type(english.title) is str and type(english.detail) is str


def test_the_history_never_shows_another_members_entries(member, other_member, store):
    buy(other_member, store, "HD-OTHER", "500000")
    assert items_of(member) == []


# ---------------------------------------------------------------------------------------------
# What the apps above members add (rewards/, campaigns/, promotions/ history.py)


def test_a_redemption_names_the_reward_in_the_members_language(member, store):
    from rewards.models import Reward
    from rewards.services import reward_redeem, voucher_cancel

    grant(member, "activity:first_login:1", points=500)
    reward = Reward.objects.create(
        code="coffee",
        kind=Reward.Kind.AMOUNT,
        name="Giảm 50.000 ₫",
        name_en="50,000 ₫ off",
        points_cost=200,
        discount_amount=Decimal("50000"),
        cancel_grace_hours=24,
    )
    voucher = reward_redeem(member=member, reward=reward, store=store)
    voucher_cancel(voucher=voucher, member=member)
    with translation.override("en"):
        spent, refund = (
            next(i for i in items_of(member) if i.kind == k) for k in ("spend", "refund")
        )
    assert spent.title == "Reward: 50,000 ₫ off" and spent.detail == "Redeemed at Quận 1"
    assert spent.points == -200 and spent.group == "spent"
    assert refund.title == "Points given back: voucher cancelled"
    assert refund.detail == "Reward: 50,000 ₫ off" and refund.group == "returns"
    vietnamese = items_of(member, "spent")[0].title  # the reward's Vietnamese name
    assert "Giảm 50.000 ₫" in vietnamese and "off" not in vietnamese


def test_a_birthday_campaigns_bonus_reads_as_the_birthday_bonus(member):
    from campaigns.models import Campaign, Send
    from tests.campaigns.campaign_helpers import make_campaign

    campaign = make_campaign("bday-test", name="Sinh nhật 2026", trigger=Campaign.Trigger.BIRTHDAY)
    send = Send.objects.create(campaign=campaign, member=member, occurrence="2026", status="sent")
    grant(member, f"send:{send.pk}", reason=campaign.name)
    with translation.override("en"):
        [item] = items_of(member)
    assert (item.title, item.detail) == ("Birthday bonus", "Sinh nhật 2026")


def test_a_purchases_points_name_the_promotions_in_them(member, store):
    from promotions.models import Promotion, PromotionAward

    buy(member, store, "HD-PROMO", "500000")
    purchase = member.purchases.get()
    promotion = Promotion.objects.create(
        code="double",
        name="Nhân đôi điểm",
        name_en="Double points",
        kind=Promotion.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    PromotionAward.objects.create(promotion=promotion, member=member, purchase=purchase, points=50)
    with translation.override("en"):
        [item] = items_of(member)
    assert item.detail.endswith(" · 50 points from Double points")
    assert "HD-PROMO" in item.detail


# ---------------------------------------------------------------------------------------------
# The page


def login(client, member):
    from tests.factories import UserFactory

    user = UserFactory()
    member.user = user
    member.save(update_fields=["user"])
    client.force_login(user)
    return user


def test_page_shows_entries_in_words_and_filters(client, member, store):
    buy(member, store, "HD-PAGE", "900000", days_ago=20)
    grant(member, "activity:first_login:1")
    login(client, member)
    page = client.get(reverse("portal:points"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "HD-PAGE" in html and "Quận 1" in html
    day = timezone.localdate(timezone.now() - timedelta(days=20))
    assert day.strftime("%d/%m/%Y") in html
    earned_only = client.get(reverse("portal:points"), {"show": "spent"})
    assert earned_only.context["entries"] == []
    assert client.get(reverse("portal:points"), {"show": "nonsense"}).status_code == 400
    # A page out of range or not a number shows a page, never an error.
    assert client.get(reverse("portal:points"), {"page": "999"}).status_code == 200
    assert client.get(reverse("portal:points"), {"page": "x"}).status_code == 200


def bulk_entries(member, count):
    now = timezone.now() - timedelta(days=4)  # older than the purchases: page 1 is alike
    PointEntry.objects.bulk_create(
        [
            PointEntry(
                member_id=member.pk,
                kind=PointEntry.Kind.BONUS,
                available_delta=1,
                idempotency_key=f"bulk:{member.pk}:{n}",
                reason="Khuyến mãi",
                created_at=now - timedelta(minutes=n),
            )
            for n in range(count)
        ],
        batch_size=2000,
    )


@pytest.mark.parametrize("count", [10, 10_000])
def test_page_reads_in_a_pinned_number_of_queries(
    client, member, store, count, django_assert_num_queries
):
    buy(member, store, "HD-Q1", "500000", days_ago=3)
    buy(member, store, "HD-Q2", "500000")
    return_record(
        store=store,
        purchase_external_id="HD-Q2",
        data=ReturnInput(external_id="RT-Q", amount=Decimal("100000")),
    )
    bulk_entries(member, count)
    login(client, member)
    client.get(reverse("portal:points"))  # the process caches (programme) warm
    # session, user, member, account, count, the page's entries (purchase, store, return,
    # lot joined in), the promotions inside the purchases' points.
    with django_assert_num_queries(7):
        response = client.get(reverse("portal:points"), {"page": 1})
    assert response.status_code == 200
    assert len(response.context["entries"]) == (13 if count == 10 else 20)
    assert [e.receipt for e in response.context["entries"][:3]] == ["HD-Q2", "HD-Q2", "HD-Q1"]
    with django_assert_num_queries(7):
        client.get(reverse("portal:points"), {"show": "earned"})
    if count == 10_000:  # an old page holds only the bonuses: no describer has work
        with django_assert_num_queries(6):
            client.get(reverse("portal:points"), {"page": 400})


@pytest.mark.postgres
def test_history_queries_use_the_member_index_on_postgresql(member):
    """The page and its count start from the (member, created_at) index, whatever the
    filter, on a table holding other members' entries too (ANALYZEd, as in production)."""
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import MemberFactory

    index = next(
        i.name for i in PointEntry._meta.indexes if list(i.fields) == ["member", "created_at"]
    )
    now = timezone.now()
    rows = []
    for owner in [member] + [MemberFactory() for _ in range(15)]:
        for n in range(2000):
            kind, delta = {0: ("expire", -1), 1: ("spend", -1), 2: ("reverse", -1)}.get(
                n % 10, ("bonus", 1)
            )
            rows.append(
                PointEntry(
                    member_id=owner.pk,
                    kind=kind,
                    available_delta=delta,
                    idempotency_key=f"plan:{owner.pk}:{n}",
                    created_at=now - timedelta(minutes=n),
                )
            )
    PointEntry.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {PointEntry._meta.db_table}")
    for group in (None, *HISTORY_GROUPS):
        entries = member_history(member, group=group)
        with CaptureQueriesContext(connection) as queries:
            page = Paginator(entries, 20).page(1)
            list(page.object_list)
        assert len(queries.captured_queries) == 2  # the count and the page
        for query in queries.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + query["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert index in plan, (group, query["sql"], plan)
