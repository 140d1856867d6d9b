"""Member search (members.selectors.member_search), the find page and the member 360 page.

The search tests run on whichever database the run uses (SQLite bare, PostgreSQL with
DATABASE_URL): the same cases must hold on both. The PostgreSQL-only tests check the
database side itself (the function, the index and its use)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import AuditEntry
from members.roles import STORE_MANAGER
from members.search import name_key, trigram_similarity
from members.selectors import member_search, program_get
from members.services.points import points_adjust, points_grant
from members.services.privacy import data_request_record, member_erase
from pos.services.purchases import (
    PurchaseInput,
    ReturnInput,
    purchase_record,
    purchase_return_record,
)
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db

_keys = itertools.count(1)


def names(found) -> list[str]:
    return [member.full_name for member in found]


@pytest.fixture
def people(db):
    """Names that share words with "Nguyễn Văn A", phones and emails to look up."""
    return {
        "a": MemberFactory(full_name="Nguyễn Văn A", phone="0901234567", email="Van.A@Example.com"),
        "an": MemberFactory(full_name="Nguyễn Văn An", phone="0901234568"),
        "anh": MemberFactory(full_name="Nguyễn Văn Anh Tuấn", phone="0901234569"),
        "tran": MemberFactory(full_name="Trần Văn A", phone="0901234570"),
        "thi": MemberFactory(full_name="Nguyễn Thị Lan", phone="0901234571"),
        "do": MemberFactory(full_name="Đỗ Đức Định", phone="0901234572"),
    }


# --- Search by name -------------------------------------------------------------------------


def test_name_without_accents_finds_the_accented_name_first(people):
    found = member_search("nguyen van a")
    assert found[0] == people["a"]
    # Whole words first (A), then names where "a" only begins a word (An, Anh Tuấn);
    # Trần Văn A lacks "nguyen", Nguyễn Thị Lan lacks "van".
    assert names(found) == ["Nguyễn Văn A", "Nguyễn Văn An", "Nguyễn Văn Anh Tuấn"]


def test_words_in_any_order_and_any_case(people):
    assert member_search("VAN a NGUYEN")[0] == people["a"]
    assert member_search("Nguyễn VĂN A")[0] == people["a"]
    assert member_search("a nguyen van")[0] == people["a"]


def test_d_with_stroke_matches_plain_d(people):
    assert names(member_search("do duc dinh")) == ["Đỗ Đức Định"]
    assert names(member_search("ĐỖ ĐỨC")) == ["Đỗ Đức Định"]
    assert names(member_search("dinh")) == ["Đỗ Đức Định"]


def test_decomposed_input_matches(people):
    import unicodedata

    assert member_search(unicodedata.normalize("NFD", "Nguyễn Văn A"))[0] == people["a"]


def test_word_beginnings_match_but_not_word_middles(people):
    assert names(member_search("nguy lan")) == ["Nguyễn Thị Lan"]
    assert member_search("guyen") == []  # "guyen" begins no word


def test_limit(people):
    assert len(member_search("nguyen", limit=2)) == 2
    assert member_search("nguyen", limit=0) == []


def test_blocked_member_is_found(people):
    from members.services import member_block

    member_block(member=people["thi"], reason="test", acting_user=None)
    assert names(member_search("nguyen thi lan")) == ["Nguyễn Thị Lan"]


# --- Search by identifiers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "0901234567",
        "+84 90 123 4567",
        "84901234567",
        "090.123.4567",
        "090 123 4567",
        "+84901234567",
    ],
)
def test_phone_in_any_form(people, typed):
    assert member_search(typed) == [people["a"]]


def test_email_in_any_case(people):
    assert member_search("van.a@example.com") == [people["a"]]
    assert member_search("VAN.A@EXAMPLE.COM") == [people["a"]]
    assert member_search("nobody@example.com") == []


def test_card_number_with_or_without_spaces(people):
    card = people["do"].card_number
    spaced = " ".join(card[i : i + 4] for i in range(0, 12, 4))
    assert member_search(card) == [people["do"]]
    assert member_search(spaced) == [people["do"]]
    assert member_search(f"{card[:4]}-{card[4:8]}-{card[8:]}") == [people["do"]]


def test_erased_member_is_found_by_nothing(people, support):
    member = people["a"]
    card = member.card_number
    member_erase(member=member, acting_user=support, channel="staff", reason="asked")
    assert people["a"] not in member_search("nguyen van a")
    assert member_search("0901234567") == []
    assert member_search("van.a@example.com") == []
    assert member_search(card) == []


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "%",
        "_",
        "%%%",
        "' OR 1=1 --",
        "\x00",
        "a\x00b",
        "🙂",
        "@",
        "x" * 5000,
        "\\",
        "++",
    ],
)
def test_garbage_finds_nothing_and_never_fails(people, garbage):
    assert member_search(garbage) == []


def test_python_key_and_similarity_match_postgres_semantics():
    assert name_key("Đỗ Đức-Định") == " do duc dinh "
    assert trigram_similarity(" nguyen van a ", "van a nguyen") == 1.0
    # 13 trigrams each ("an " is both van's end and an's); shared: nguyen's 7, van's 4 and
    # "  a" (not " a ", nor " an"): 12 of the 14 in all.
    assert trigram_similarity("nguyen van a", "nguyen van an") == pytest.approx(12 / 14)


@pytest.mark.postgres
def test_postgres_function_matches_the_python_key():
    with connection.cursor() as cursor:
        cursor.execute("SELECT members_name_key(%s)", ["Nguyễn Văn-Ánh Đỗ"])
        assert cursor.fetchone()[0] == name_key("Nguyễn Văn-Ánh Đỗ") == " nguyen van anh do "
        cursor.execute("SELECT similarity(' nguyen van a ', ' nguyen van an ')")
        assert cursor.fetchone()[0] == pytest.approx(12 / 14)


@pytest.mark.postgres
def test_postgres_name_search_uses_the_trigram_index(people):
    with CaptureQueriesContext(connection) as queries:
        member_search("nguyen van a")
    name_queries = [q["sql"] for q in queries if "members_name_key" in q["sql"]]
    assert name_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + name_queries[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "member_name_key_trgm" in plan


# --- The find page --------------------------------------------------------------------------


def test_find_lists_results_even_a_single_one(client, support, people):
    client.force_login(support)
    response = client.get(reverse("console:find"), {"q": "do duc dinh"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Đỗ Đức Định" in body
    assert reverse("console:member", args=[people["do"].pk]) in body
    assert "<table" in body  # a list to confirm, no redirect to the page


def test_find_shows_the_full_phone_to_profile_editors_and_masked_to_others(
    client, support, marketer, people
):
    client.force_login(support)
    body = client.get(reverse("console:find"), {"q": "nguyen van a"}).content.decode()
    assert "0901 234 567" in body
    client.force_login(marketer)
    body = client.get(reverse("console:find"), {"q": "nguyen van a"}).content.decode()
    assert "0901 234 567" not in body
    assert "0901 *** 567" in body


def test_find_without_a_query_shows_the_form(client, support):
    client.force_login(support)
    response = client.get(reverse("console:find"))
    assert response.status_code == 200
    assert 'name="q"' in response.content.decode()


@pytest.mark.parametrize("garbage", ["%", "\x00", "x" * 5000, "'; DROP TABLE x; --", "0" * 30])
def test_find_with_garbage_is_a_page_not_an_error(client, support, people, garbage):
    client.force_login(support)
    response = client.get(reverse("console:find"), {"q": garbage})
    assert response.status_code == 200


def test_a_staff_user_without_view_member_is_refused(client):
    nobody = UserFactory(email="plain-staff@example.com", is_staff=True)
    client.force_login(nobody)
    assert client.get(reverse("console:find"), {"q": "a"}).status_code == 403
    member = MemberFactory(full_name="Ai Đó")
    assert client.get(reverse("console:member", args=[member.pk])).status_code == 403


def test_members_and_visitors_go_to_the_staff_login(client, member_user):
    url = reverse("console:find")
    assert client.get(url).status_code == 302
    client.force_login(member_user)
    assert client.get(url).status_code == 302


# --- The member page ------------------------------------------------------------------------


def _purchase(store, member, external_id, amount="500000", when=None):
    return purchase_record(
        store=store,
        data=PurchaseInput(
            member=member.card_number,
            total_amount=Decimal(amount),
            external_id=external_id,
            occurred_at=when,
        ),
    )


@pytest.fixture
def full_member(store, other_store, support):
    """A member with something in every section."""
    from campaigns.models import Campaign, Send
    from promotions.models import Referral
    from rewards.services import reward_redeem
    from tests.rewards.conftest import make_reward
    from tiers.models import Tier, TierChange

    member = MemberFactory(
        full_name="Phạm Thị Hoa", phone="0911222333", email="hoa@example.com", email_consent=True
    )
    friend = MemberFactory(full_name="Vũ Minh Khoa", phone="0911222444")
    program = program_get()
    _purchase(store, member, "R-HCM-1", "500000")
    _purchase(other_store, member, "R-HN-1", "300000")
    purchase_return_record(
        store=store,
        purchase_external_id="R-HCM-1",
        data=ReturnInput(external_id="RET-1", amount=Decimal("100000")),
    )
    points_grant(
        member=member, points=1000, idempotency_key="m360-grant", reason="t", program=program
    )
    points_adjust(
        member=member,
        points=25,
        reason="Apology for the queue",
        acting_user=support,
        program=program,
    )
    reward = make_reward(name="Phiếu giảm giá 50k", points_cost=100)
    voucher = reward_redeem(member=member, reward=reward)
    campaign = Campaign.objects.order_by("pk").first()  # the migration's welcome campaign
    Send.objects.create(campaign=campaign, member=member, occurrence="m360")
    now = timezone.now()
    Referral.objects.create(
        referrer=member,
        referee=friend,
        channel="portal",
        joined_at=now,
        joined_on=timezone.localdate(),
        window_ends_at=now + timedelta(days=30),
    )
    TierChange.objects.create(
        member=member,
        to_tier=Tier.objects.order_by("rank").first(),
        reason="manual",
        note="m360 note",
    )
    data_request_record(
        member=member, kind="export", acting_user=support, channel="staff", note="asked by phone"
    )
    member.refresh_from_db()
    return {"member": member, "friend": friend, "voucher": voucher, "campaign": campaign}


def test_member_page_shows_every_section(client, program_admin, full_member):
    member = full_member["member"]
    client.force_login(program_admin)
    response = client.get(reverse("console:member", args=[member.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    for anchor in (
        "profile",
        "tier",
        "ledger",
        "purchases",
        "vouchers",
        "campaigns",
        "referrals",
        "data-requests",
        "audit",
        "actions",
    ):
        assert f'id="{anchor}"' in body, anchor
    assert "Phạm Thị Hoa" in body
    assert "0911 222 333" in body  # a profile editor: the full phone
    assert "hoa@example.com" in body
    account = member.account
    assert account.available > 0
    # Receipts of both stores, the return against the first, in whole đồng.
    assert "R-HCM-1" in body and "R-HN-1" in body
    assert "500.000" in body and "100.000" in body
    # The voucher's code masked: its last three characters only.
    code = full_member["voucher"].code_display
    assert code not in body
    assert f"****-****-{code[-3:]}" in body
    assert "Phiếu giảm giá 50k" in body
    assert "Apology for the queue" in body  # the adjustment in the ledger and audit trail
    assert "Vũ Minh Khoa" in body  # the friend invited
    assert "m360 note" in body  # tier history
    assert full_member["campaign"].name in body
    assert AuditEntry.objects.filter(member=member).exists()


def test_member_page_masks_contacts_for_a_marketer(client, marketer, full_member):
    member = full_member["member"]
    client.force_login(marketer)
    body = client.get(reverse("console:member", args=[member.pk])).content.decode()
    assert "0911 222 333" not in body
    assert "0911 *** 333" in body
    assert "hoa@example.com" not in body
    assert "h***@example.com" in body
    assert 'id="audit"' not in body  # marketers do not read the audit trail


def test_store_manager_sees_only_their_stores_purchases(client, store, full_member):
    manager = UserFactory(email="m360-manager@example.com", is_staff=True)
    manager.groups.add(Group.objects.get(name=STORE_MANAGER))
    manager.stores.add(store)
    client.force_login(manager)
    body = client.get(reverse("console:member", args=[full_member["member"].pk])).content.decode()
    assert "R-HCM-1" in body
    assert "R-HN-1" not in body  # the other store's receipt: neither in purchases nor ledger
    assert "Hoàn Kiếm" not in body  # the other store's name


def test_unknown_member_is_404(client, support):
    client.force_login(support)
    assert client.get(reverse("console:member", args=[999999])).status_code == 404


def test_ledger_pages_and_a_bad_page_number(client, support, full_member):
    member = full_member["member"]
    program = program_get()
    for n in range(25):
        points_grant(
            member=member, points=1, idempotency_key=f"m360-p-{n}", reason="t", program=program
        )
    client.force_login(support)
    url = reverse("console:member", args=[member.pk])
    assert "?page=2#ledger" in client.get(url).content.decode()
    assert client.get(url, {"page": "2"}).status_code == 200
    assert client.get(url, {"page": "x'"}).status_code == 200
    assert client.get(url, {"page": "99999"}).status_code == 200


def test_admin_member_list_searches_without_accents_and_links_the_member_page(
    client, support, people
):
    client.force_login(support)
    response = client.get(reverse("admin:members_member_changelist"), {"q": "do duc dinh"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Đỗ Đức Định" in body
    assert "Nguyễn Văn A" not in body
    assert reverse("console:member", args=[people["do"].pk]) in body
    change = client.get(reverse("admin:members_member_change", args=[people["do"].pk]))
    assert reverse("console:member", args=[people["do"].pk]) in change.content.decode()


# --- Query count ------------------------------------------------------------------------------


def _history(member, store, n: int):
    """``n`` purchases (each with its ledger entry) and ``n`` vouchers."""
    from rewards.services import reward_redeem
    from tests.rewards.conftest import make_reward

    program = program_get()
    base = timezone.now() - timedelta(days=2)
    for i in range(n):
        _purchase(store, member, f"Q-{member.pk}-{i}", "100000", when=base + timedelta(minutes=i))
    points_grant(
        member=member,
        points=100 * n + 50,
        idempotency_key=f"q-{member.pk}",
        reason="t",
        program=program,
    )
    reward = make_reward(points_cost=100)
    for _ in range(n):
        reward_redeem(member=member, reward=reward)


def _page_queries(client, member) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("console:member", args=[member.pk]))
    assert response.status_code == 200
    return len(captured)


def test_member_page_query_count_does_not_grow_with_history(
    client, support, store, django_assert_num_queries
):
    small = MemberFactory(full_name="Ít Lịch Sử", phone="0933000001")
    large = MemberFactory(full_name="Nhiều Lịch Sử", phone="0933000002")
    _history(small, store, 3)
    _history(large, store, 300)
    client.force_login(support)
    _page_queries(client, small)  # the session and permission caches warm alike for both
    with django_assert_num_queries(PINNED_QUERIES, connection=connection):
        client.get(reverse("console:member", args=[small.pk]))
    with django_assert_num_queries(PINNED_QUERIES, connection=connection):
        client.get(reverse("console:member", args=[large.pk]))


PINNED_QUERIES = 28


def test_admin_purchase_and_return_lists_show_whole_dong(client, support, store, full_member):
    client.force_login(support)
    body = client.get(reverse("admin:members_purchase_changelist")).content.decode()
    assert "500.000" in body and "300.000" in body
    assert "500000.00" not in body
    manager = UserFactory(email="m360-returns@example.com", is_staff=True)
    manager.groups.add(Group.objects.get(name=STORE_MANAGER))
    manager.stores.add(store)
    client.force_login(manager)  # store managers read returns (their stores')
    body = client.get(reverse("admin:members_purchasereturn_changelist")).content.decode()
    assert "100.000" in body
    assert "100000.00" not in body
