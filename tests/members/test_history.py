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
    now = timezone.now()
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
    # session, user, member, account, count, the page's entries.
    with django_assert_num_queries(6):
        response = client.get(reverse("portal:points"), {"page": 1})
    assert response.status_code == 200
    assert len(response.context["entries"]) == (13 if count == 10 else 20)
    with django_assert_num_queries(6):
        client.get(reverse("portal:points"), {"show": "earned"})
