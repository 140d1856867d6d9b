"""Goodwill vouchers (no points, reason required, permission, audit) and the admin: rewards
with tier prices, the partner code upload, the read-only voucher list, the goodwill page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from loyalty.errors import DomainError
from members.models import AuditEntry, PointAccount
from members.services import member_block
from rewards.codes import voucher_code_display
from rewards.models import PartnerCode, Reward, Voucher
from rewards.services import partner_codes_import, partner_codes_read_csv, voucher_issue_goodwill
from tests.rewards.conftest import give_points, make_reward, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    """The admin in English, so that messages can be asserted before translations exist."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_a_goodwill_voucher_costs_no_points_and_is_audited(member, support):
    give_points(member, 50)
    reward = make_reward(points_cost=500, stock_total=3)
    voucher = voucher_issue_goodwill(
        member=member, reward=reward, reason="  Late delivery  ", acting_user=support
    )
    assert (voucher.source, voucher.points_spent, voucher.issued_by, voucher.reason) == (
        "goodwill",
        0,
        support,
        "Late delivery",
    )
    assert voucher.cancellable_until is None
    assert PointAccount.objects.get(pk=member.pk).available == 50
    assert Reward.objects.get(pk=reward.pk).stock_issued == 1
    audit = AuditEntry.objects.get(action="voucher.goodwill_issued")
    assert (audit.actor, audit.member, audit.reason) == (support, member, "Late delivery")
    assert audit.data == {"voucher": voucher.pk, "reward": reward.code}


def test_a_goodwill_voucher_needs_a_reason(member, support):
    with pytest.raises(ValidationError) as missing:
        voucher_issue_goodwill(member=member, reward=make_reward(), reason=" ", acting_user=support)
    assert "reason" in missing.value.message_dict
    assert Voucher.objects.count() == 0


def test_a_goodwill_voucher_needs_the_permission(member, store_manager, marketer, program_admin):
    with pytest.raises(DomainError) as denied:
        voucher_issue_goodwill(
            member=member, reward=make_reward(), reason="sorry", acting_user=store_manager
        )
    assert denied.value.code == "permission_denied"
    assert not AuditEntry.objects.filter(action="voucher.goodwill_issued").exists()
    for allowed in (marketer, program_admin):
        assert voucher_issue_goodwill(
            member=member, reward=make_reward(), reason="sorry", acting_user=allowed
        )


def test_a_goodwill_voucher_ignores_tier_and_dates_but_not_stock(member, support):
    from tiers.models import Tier

    reward = make_reward(min_tier=Tier.objects.get(code="diamond"), is_active=False, stock_total=1)
    voucher_issue_goodwill(member=member, reward=reward, reason="sorry", acting_user=support)
    with pytest.raises(DomainError) as out:
        voucher_issue_goodwill(member=member, reward=reward, reason="again", acting_user=support)
    assert out.value.details["reason_code"] == "out_of_stock"


def test_no_goodwill_voucher_for_a_blocked_member(member, support):
    member_block(member=member, reason="fraud", acting_user=support)
    with pytest.raises(DomainError) as blocked:
        voucher_issue_goodwill(member=member, reward=make_reward(), reason="x", acting_user=support)
    assert blocked.value.code == "member_blocked"


def test_partner_codes_import_skips_duplicates_and_lists_bad_lines(program_admin):
    reward = make_reward(kind=Reward.Kind.PARTNER)
    partner_codes_import(reward=reward, rows=[(1, "A1")])
    rows = partner_codes_read_csv(
        "\ufeffcode\nA1\nB2\n\nB2\nC3,extra column\nhas space\n".encode() + b"x" * 65 + b"\n"
    )
    assert [code for _line, code in rows] == ["A1", "B2", "B2", "C3", "has space", "x" * 65]
    with translation.override("en"):
        result = partner_codes_import(reward=reward, rows=rows, acting_user=program_admin)
    assert (result.added, result.already_there) == (2, 2)
    assert [(line, why) for line, _code, why in result.rejected] == [
        (7, "not a code"),
        (8, "not a code"),
    ]
    assert set(PartnerCode.objects.values_list("code", flat=True)) == {"A1", "B2", "C3"}
    audit = AuditEntry.objects.filter(action="rewards.partner_codes_imported").latest("id")
    assert audit.data["added"] == 2 and audit.actor == program_admin


def test_partner_codes_only_for_partner_rewards():
    with pytest.raises(ValidationError):
        partner_codes_import(reward=make_reward(), rows=[(1, "A1")])
    with pytest.raises(ValidationError):
        partner_codes_read_csv(b"\xff\xfe not utf-8")


# ---------------------------------------------------------------------------------------------
# The admin


def test_marketer_manages_rewards_in_the_admin(client, marketer):
    client.force_login(marketer)
    reward = make_reward(kind=Reward.Kind.PARTNER)
    partner_codes_import(reward=reward, rows=[(1, "A"), (2, "B")])
    listing = client.get(reverse("admin:rewards_reward_changelist"))
    assert listing.status_code == 200
    page = client.get(reverse("admin:rewards_reward_change", args=[reward.pk]))
    assert page.status_code == 200
    assert reverse("admin:rewards_reward_partner_codes", args=[reward.pk]) in page.content.decode()


def test_admin_adds_a_reward_with_a_tier_price(client, program_admin):
    from tiers.models import Tier

    client.force_login(program_admin)
    gold = Tier.objects.get(code="gold")
    response = client.post(
        reverse("admin:rewards_reward_add"),
        {
            "code": "giam-20k",
            "kind": "amount",
            "is_active": "on",
            "name": "Giảm 20.000đ",
            "points_cost": "200",
            "discount_amount": "20000",
            "min_spend": "0",
            "voucher_valid_days": "30",
            "cancel_grace_hours": "24",
            "tier_prices-TOTAL_FORMS": "1",
            "tier_prices-INITIAL_FORMS": "0",
            "tier_prices-0-tier": str(gold.pk),
            "tier_prices-0-points_cost": "150",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    reward = Reward.objects.get(code="giam-20k")
    assert reward.tier_prices.get().points_cost == 150


def test_admin_shows_a_clear_error_for_a_discount_of_the_wrong_shape(client, program_admin):
    client.force_login(program_admin)
    response = client.post(
        reverse("admin:rewards_reward_add"),
        {
            "code": "wrong",
            "kind": "percent",
            "name": "Sai",
            "points_cost": "200",
            "discount_amount": "20000",
            "min_spend": "0",
            "voucher_valid_days": "30",
            "cancel_grace_hours": "24",
            "tier_prices-TOTAL_FORMS": "0",
            "tier_prices-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "a percentage needs a percent" in response.content.decode()
    assert not Reward.objects.filter(code="wrong").exists()


def test_admin_uploads_partner_codes_from_a_csv(client, program_admin):
    client.force_login(program_admin)
    reward = make_reward(kind=Reward.Kind.PARTNER)
    url = reverse("admin:rewards_reward_partner_codes", args=[reward.pk])
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("codes.csv", b"code\nX-1\nX-2\nX-3\n", content_type="text/csv")
    response = client.post(url, {"file": upload})
    assert response.status_code == 302
    assert PartnerCode.objects.filter(reward=reward).count() == 3


def test_store_manager_cannot_upload_partner_codes(client, store_manager):
    client.force_login(store_manager)
    reward = make_reward(kind=Reward.Kind.PARTNER)
    url = reverse("admin:rewards_reward_partner_codes", args=[reward.pk])
    upload = SimpleUploadedFile("codes.csv", b"X-1\n", content_type="text/csv")
    assert client.post(url, {"file": upload}).status_code == 403
    assert not PartnerCode.objects.exists()


def test_vouchers_are_read_only_and_found_by_the_code_as_shown(client, support, member):
    give_points(member, 1000)
    voucher = redeem(member, make_reward())
    client.force_login(support)
    listing = client.get(
        reverse("admin:rewards_voucher_changelist"),
        {"q": voucher_code_display(voucher.code).lower()},
    )
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [voucher]
    page = client.get(reverse("admin:rewards_voucher_change", args=[voucher.pk]))
    assert page.status_code == 200
    assert client.get(reverse("admin:rewards_voucher_add")).status_code == 403


def test_support_issues_a_goodwill_voucher_from_the_admin(client, support, member):
    client.force_login(support)
    reward = make_reward(discount_amount=Decimal("30000"))
    url = reverse("admin:rewards_voucher_goodwill")
    assert "goodwill" in client.get(reverse("admin:rewards_voucher_changelist")).content.decode()
    no_reason = client.post(url, {"member": "0912 345 678", "reward": reward.pk, "reason": ""})
    assert no_reason.status_code == 200 and Voucher.objects.count() == 0
    response = client.post(
        url, {"member": "0912 345 678", "reward": reward.pk, "reason": "Order was late"}
    )
    assert response.status_code == 302
    voucher = Voucher.objects.get()
    assert (voucher.member, voucher.source, voucher.issued_by) == (member, "goodwill", support)


def test_the_goodwill_page_needs_the_permission(client, store_manager):
    client.force_login(store_manager)
    assert client.get(reverse("admin:rewards_voucher_goodwill")).status_code == 403


def _change_form(reward, **changes):
    data = {
        "code": reward.code,
        "kind": reward.kind,
        "is_active": "on",
        "name": reward.name,
        "points_cost": str(reward.points_cost),
        "discount_amount": str(reward.discount_amount),
        "min_spend": "0",
        "stock_total": str(reward.stock_total or ""),
        "voucher_valid_days": "30",
        "cancel_grace_hours": "24",
        "tier_prices-TOTAL_FORMS": "0",
        "tier_prices-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_saving_a_reward_in_the_admin_never_writes_back_the_stock_counter(
    client, marketer, other_member
):
    """Redemptions made while the form was open keep counting: the admin's save leaves the
    counter alone, so it cannot be set back and oversell."""
    give_points(other_member, 1000)
    reward = make_reward(stock_total=10)
    client.force_login(marketer)
    url = reverse("admin:rewards_reward_change", args=[reward.pk])
    form_opened_with = reward  # stock_issued 0 when the page was loaded
    redeem(other_member, reward)
    redeem(other_member, reward)
    response = client.post(url, _change_form(form_opened_with, name="Giảm 50.000đ mới"))
    assert response.status_code == 302
    reward.refresh_from_db()
    assert (reward.name, reward.stock_issued) == ("Giảm 50.000đ mới", 2)


def test_the_admin_refuses_a_stock_below_what_was_issued(client, marketer, other_member):
    give_points(other_member, 1000)
    reward = make_reward(stock_total=10)
    for _ in range(3):
        redeem(other_member, reward)
    client.force_login(marketer)
    url = reverse("admin:rewards_reward_change", args=[reward.pk])
    response = client.post(url, _change_form(reward, stock_total="2"))
    assert response.status_code == 200
    assert "3 are already issued" in response.content.decode()
    assert client.post(url, _change_form(reward, stock_total="3")).status_code == 302
    assert Reward.objects.get(pk=reward.pk).stock_total == 3
