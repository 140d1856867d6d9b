"""Sending a voucher's code again from the member page: to the member's own phone or
email, in their language, audited, limited per channel and day; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns.models import SmsLog
from members.models import AuditEntry
from members.selectors import program_get
from members.services.points import points_grant
from rewards.models import Reward, Voucher
from rewards.services.issuing import reward_redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def voucher(member):
    reward = Reward.objects.create(
        code="cafe",
        kind=Reward.Kind.AMOUNT,
        name="Giảm 50.000đ",
        name_en="50,000 VND off",
        points_cost=100,
        discount_amount=Decimal("50000"),
    )
    points_grant(
        member=member, points=100, idempotency_key="seed", reason="seed", program=program_get()
    )
    return reward_redeem(member=member, reward=reward)


def url(voucher) -> str:
    return reverse("console:voucher_resend", args=[voucher.member_id, voucher.pk])


def test_sms_goes_to_the_members_phone_in_their_language(client, support, voucher):
    client.force_login(support)
    assert client.get(url(voucher)).status_code == 200
    response = client.post(url(voucher), {"channel": "sms", "reason": "Khách mất tin nhắn"})
    assert response.status_code == 302
    assert response["Location"].endswith("#vouchers")
    sms = SmsLog.objects.get()
    assert sms.phone == voucher.member.phone
    assert voucher.code_display in sms.text
    assert "Giảm 50.000đ" in sms.text  # Vietnamese, the member's language
    entry = AuditEntry.objects.get(action="voucher.resent")
    assert (entry.member_id, entry.actor_id, entry.reason) == (
        voucher.member_id,
        support.pk,
        "Khách mất tin nhắn",
    )
    assert entry.data["voucher"] == voucher.pk and entry.data["channel"] == "sms"


def test_email_in_english_for_an_english_member(client, support, voucher):
    member = voucher.member
    member.language = "en"
    member.save(update_fields=["language"])
    client.force_login(support)
    response = client.post(url(voucher), {"channel": "email", "reason": "asked"})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [member.email]
    assert "50,000 VND off" in message.subject
    assert voucher.code_display in message.body


def test_three_a_day_per_channel(client, support, voucher):
    client.force_login(support)
    for _ in range(3):
        assert client.post(url(voucher), {"channel": "sms", "reason": "x"}).status_code == 302
    refused = client.post(url(voucher), {"channel": "sms", "reason": "x"})
    assert refused.status_code == 400
    assert "24" in refused.content.decode()
    assert SmsLog.objects.count() == 3
    assert client.post(url(voucher), {"channel": "email", "reason": "x"}).status_code == 302


def test_a_cancelled_voucher_is_not_sent(client, support, voucher):
    Voucher.objects.filter(pk=voucher.pk).update(
        status=Voucher.Status.CANCELLED, cancelled_at=timezone.now()
    )
    client.force_login(support)
    response = client.post(url(voucher), {"channel": "sms", "reason": "x"})
    assert response.status_code == 400
    assert not SmsLog.objects.exists()
    assert not AuditEntry.objects.filter(action="voucher.resent").exists()


def test_an_expired_voucher_is_not_sent(client, support, voucher):
    Voucher.objects.filter(pk=voucher.pk).update(
        valid_from=timezone.localdate() - timedelta(days=10),
        valid_until=timezone.localdate() - timedelta(days=1),
    )
    client.force_login(support)
    assert client.post(url(voucher), {"channel": "sms", "reason": "x"}).status_code == 400
    assert not SmsLog.objects.exists()


def test_no_email_address_is_a_clear_refusal(client, support, voucher):
    member = voucher.member
    member.email = None
    member.save(update_fields=["email"])
    client.force_login(support)
    response = client.post(url(voucher), {"channel": "email", "reason": "x"})
    assert response.status_code == 400
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action="voucher.resent").exists()


@pytest.mark.parametrize(
    "body", [{"channel": "sms"}, {"channel": "fax", "reason": "x"}, {"reason": "x"}]
)
def test_bad_input_is_400_and_sends_nothing(client, support, voucher, body):
    client.force_login(support)
    assert client.post(url(voucher), body).status_code == 400
    assert not SmsLog.objects.exists()
    assert mail.outbox == []


def test_another_members_voucher_is_404(client, support, voucher, other_member):
    client.force_login(support)
    wrong = reverse("console:voucher_resend", args=[other_member.pk, voucher.pk])
    assert client.post(wrong, {"channel": "sms", "reason": "x"}).status_code == 404
    assert not SmsLog.objects.exists()


def test_a_marketer_may_not(client, marketer, voucher):
    client.force_login(marketer)
    assert client.post(url(voucher), {"channel": "sms", "reason": "x"}).status_code == 403
    assert not SmsLog.objects.exists()


def test_the_member_page_links_an_issued_voucher(client, support, voucher):
    client.force_login(support)
    body = client.get(reverse("console:member", args=[voucher.member_id])).content.decode()
    assert url(voucher) in body
