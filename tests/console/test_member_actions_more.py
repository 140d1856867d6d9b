"""The member page's further staff actions: a goodwill voucher, a tier set by hand (with a
lock), and linking a till member to an online account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext

from members.models import AuditEntry, Member
from rewards.models import Reward, Voucher
from tests.factories import MemberFactory, UserFactory
from tiers.models import MemberTier, Tier, TierChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def reward(db):
    return Reward.objects.create(
        code="sorry",
        kind=Reward.Kind.AMOUNT,
        name="Giảm 50.000đ",
        points_cost=500,
        discount_amount=Decimal("50000"),
    )


def _top_tier() -> Tier:
    return Tier.objects.order_by("-rank").first()


def _tomorrow():
    return timezone.localdate() + timedelta(days=1)


# --- Goodwill voucher -------------------------------------------------------------------------


def test_goodwill_voucher_issued_and_audited(client, support, member, reward):
    client.force_login(support)
    url = reverse("console:member_goodwill", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reward": str(reward.pk), "reason": "Giao hàng trễ"})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:member", args=[member.pk])
    voucher = Voucher.objects.get(member=member)
    assert (voucher.reward_id, voucher.source) == (reward.pk, Voucher.Source.GOODWILL)
    entries = AuditEntry.objects.filter(member=member, action="voucher.goodwill_issued")
    assert [(e.reason, e.actor_id) for e in entries] == [("Giao hàng trễ", support.pk)]


def test_goodwill_offers_active_rewards_only(client, support, member, reward):
    reward.is_active = False
    reward.save(update_fields=["is_active"])
    client.force_login(support)
    response = client.post(
        reverse("console:member_goodwill", args=[member.pk]),
        {"reward": str(reward.pk), "reason": "x"},
    )
    assert response.status_code == 400
    assert not Voucher.objects.filter(member=member).exists()


@pytest.mark.parametrize("body", [{"reason": "x"}, {"reward": "REWARD", "reason": " "}])
def test_goodwill_bad_input_is_400_and_changes_nothing(client, support, member, reward, body):
    client.force_login(support)
    body = {k: str(reward.pk) if v == "REWARD" else v for k, v in body.items()}
    response = client.post(reverse("console:member_goodwill", args=[member.pk]), body)
    assert response.status_code == 400
    assert not Voucher.objects.filter(member=member).exists()
    assert not AuditEntry.objects.filter(member=member).exists()


def test_goodwill_refused_by_the_service_is_400_with_its_message(client, support, member, reward):
    client.force_login(support)
    client.post(reverse("console:member_block", args=[member.pk]), {"reason": "Gian lận"})
    response = client.post(
        reverse("console:member_goodwill", args=[member.pk]),
        {"reward": str(reward.pk), "reason": "x"},
    )
    assert response.status_code == 400
    assert escape(gettext("This membership is blocked.")) in response.content.decode()
    assert not Voucher.objects.filter(member=member).exists()
    assert not AuditEntry.objects.filter(member=member, action="voucher.goodwill_issued").exists()


def test_goodwill_without_permission_403(client, store_manager, member, reward):
    client.force_login(store_manager)
    url = reverse("console:member_goodwill", args=[member.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reward": str(reward.pk), "reason": "x"}).status_code == 403
    assert not Voucher.objects.filter(member=member).exists()


# --- Tier set by hand -------------------------------------------------------------------------


def test_tier_set_with_a_lock_recorded_and_audited(client, program_admin, member):
    client.force_login(program_admin)
    url = reverse("console:member_tier", args=[member.pk])
    assert client.get(url).status_code == 200
    top = _top_tier()
    response = client.post(
        url,
        {"tier": str(top.pk), "locked_until": _tomorrow().isoformat(), "reason": "Đối tác"},
    )
    assert response.status_code == 302
    status = MemberTier.objects.get(member=member)
    assert (status.tier_id, status.locked_until) == (top.pk, _tomorrow())
    assert TierChange.objects.get(member=member).actor == program_admin
    entries = AuditEntry.objects.filter(member=member, action="tier.set_manually")
    assert [(e.reason, e.actor_id) for e in entries] == [("Đối tác", program_admin.pk)]


def test_tier_set_without_a_lock(client, program_admin, member):
    client.force_login(program_admin)
    top = _top_tier()
    response = client.post(
        reverse("console:member_tier", args=[member.pk]), {"tier": str(top.pk), "reason": "x"}
    )
    assert response.status_code == 302
    status = MemberTier.objects.get(member=member)
    assert (status.tier_id, status.locked_until) == (top.pk, None)


@pytest.mark.parametrize("days", [0, -1])
def test_tier_lock_not_after_today_is_400_with_a_field_error(client, program_admin, member, days):
    client.force_login(program_admin)
    before = list(MemberTier.objects.filter(member=member).values_list("tier_id", "locked_until"))
    day = timezone.localdate() + timedelta(days=days)
    response = client.post(
        reverse("console:member_tier", args=[member.pk]),
        {"tier": str(_top_tier().pk), "locked_until": day.isoformat(), "reason": "x"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["locked_until"] == [
        gettext("A lock ends on a day after today.")
    ]
    after = list(MemberTier.objects.filter(member=member).values_list("tier_id", "locked_until"))
    assert after == before
    assert not TierChange.objects.filter(member=member).exists()
    assert not AuditEntry.objects.filter(member=member).exists()


def test_tier_without_a_reason_is_400(client, program_admin, member):
    client.force_login(program_admin)
    response = client.post(
        reverse("console:member_tier", args=[member.pk]), {"tier": str(_top_tier().pk)}
    )
    assert response.status_code == 400
    assert not TierChange.objects.filter(member=member).exists()


def test_tier_without_permission_403(client, support, marketer, member):
    for user in (support, marketer):
        client.force_login(user)
        url = reverse("console:member_tier", args=[member.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"tier": str(_top_tier().pk), "reason": "x"}).status_code == 403
    assert not TierChange.objects.filter(member=member).exists()


# --- Linking an online account ----------------------------------------------------------------


@pytest.fixture
def till_member(db):
    return MemberFactory(
        full_name="Phạm Văn Hùng", phone="0913 222 333", email=None, enrolled_via="pos"
    )


@pytest.fixture
def login(db):
    return UserFactory(email="hung@example.com")


def test_link_attaches_the_login_and_audits(client, store_manager, till_member, login):
    client.force_login(store_manager)
    url = reverse("console:member_link", args=[till_member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"email": "HUNG@example.com"})
    assert response.status_code == 302
    linked = Member.objects.get(pk=till_member.pk)
    assert linked.user_id == login.pk
    assert linked.email == "hung@example.com"  # the blank filled from the login
    entry = AuditEntry.objects.get(member=till_member, action="member.login_claimed")
    assert (entry.actor_id, entry.data["proof"], entry.data["user_id"]) == (
        store_manager.pk,
        "staff",
        login.pk,
    )


@pytest.mark.parametrize("email", ["", "nobody@example.com", "STAFF", "TAKEN"])
def test_link_needs_a_member_login_without_a_member(
    client, support, till_member, member_user, email
):
    client.force_login(support)
    email = {"STAFF": support.email, "TAKEN": member_user.email}.get(email, email)
    response = client.post(reverse("console:member_link", args=[till_member.pk]), {"email": email})
    assert response.status_code == 400
    assert Member.objects.get(pk=till_member.pk).user_id is None
    assert not AuditEntry.objects.filter(member=till_member).exists()


def test_link_a_member_with_a_login_already_is_400(client, support, member_user, login):
    client.force_login(support)
    member = member_user.member
    response = client.post(reverse("console:member_link", args=[member.pk]), {"email": login.email})
    assert response.status_code == 400
    message = gettext("This membership already has an online account. Log in with it.")
    assert escape(message) in response.content.decode()
    assert Member.objects.get(pk=member.pk).user_id == member_user.pk
    assert not Member.objects.filter(user=login).exists()


def test_link_a_member_without_a_phone_is_400(client, support, login):
    no_phone = MemberFactory(phone=None, email="nophone@example.com")
    other = MemberFactory(phone=None, email="other-nophone@example.com")
    client.force_login(support)
    response = client.post(
        reverse("console:member_link", args=[no_phone.pk]), {"email": login.email}
    )
    assert response.status_code == 400
    assert not Member.objects.filter(user=login).exists()
    assert Member.objects.get(pk=other.pk).user_id is None


def test_link_without_permission_403(client, marketer, till_member, login):
    client.force_login(marketer)
    url = reverse("console:member_link", args=[till_member.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"email": login.email}).status_code == 403
    assert Member.objects.get(pk=till_member.pk).user_id is None


# --- The buttons ------------------------------------------------------------------------------


def _page(client, user, member) -> str:
    client.force_login(user)
    return client.get(reverse("console:member", args=[member.pk])).content.decode()


def test_buttons_follow_the_permissions(client, program_admin, support, marketer, till_member):
    goodwill = reverse("console:member_goodwill", args=[till_member.pk])
    tier = reverse("console:member_tier", args=[till_member.pk])
    link = reverse("console:member_link", args=[till_member.pk])
    page = _page(client, program_admin, till_member)
    assert goodwill in page and tier in page and link in page
    page = _page(client, support, till_member)
    assert goodwill in page and link in page and tier not in page
    page = _page(client, marketer, till_member)
    assert tier not in page and link not in page


def test_link_button_hidden_once_the_member_has_a_login(client, support, member_user):
    member = member_user.member
    page = _page(client, support, member)
    assert reverse("console:member_link", args=[member.pk]) not in page
    assert reverse("console:member_goodwill", args=[member.pk]) in page
