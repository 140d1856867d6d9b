"""Delivering sends: consent, quiet hours, rewards through the ledger once, budgets,
retries, a worker that died, the daily job run twice, and the campaign's figures."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from campaigns.channels import ChannelError, PermanentChannelError
from campaigns.models import Campaign, Notification, Send, SmsLog
from campaigns.selectors import campaign_figures
from campaigns.services import (
    campaign_deliver,
    campaign_fan_out,
    campaign_pause,
    campaign_schedule,
    send_process,
    sends_claim,
)
from campaigns.services.delivery import MAX_ATTEMPTS
from loyalty import daily
from members.models import ConsentEvent, PointAccount, PointEntry
from members.services import member_block, member_set_consent
from rewards.models import Reward, Voucher
from rewards.services import vouchers_consume_locked, vouchers_for_purchase
from tests.campaigns.campaign_helpers import (
    VN,
    activate_birthday,
    at,
    make_campaign,
    pause_defaults,
    tick,
)
from tests.campaigns.helpers import buy
from tests.factories import MemberFactory, PurchaseFactory
from tiers.models import MemberTier, Tier

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _only_our_campaigns(db):
    pause_defaults()


def one_off(code="offer", **fields) -> Campaign:
    fields.setdefault("send_at", at(DAY, 9))
    return make_campaign(code, trigger=Campaign.Trigger.ONE_OFF, **fields)


def send_of(campaign, member) -> Send:
    return Send.objects.get(campaign=campaign, member=member)


def balance(member) -> int:
    return PointAccount.objects.get(pk=member.pk).available


# ---------------------------------------------------------------------------------------------
# Consent


def test_members_without_consent_for_the_channel_are_skipped_and_counted(run_day):
    yes = MemberFactory(email_consent=True)
    no = MemberFactory(email_consent=False)
    no_address = MemberFactory(email=None, email_consent=True)
    campaign = one_off(by_email=True, in_app=False, reward_kind="points", reward_points=100)
    run_day(DAY, hour=10)
    assert send_of(campaign, yes).status == Send.Status.SENT
    skipped = send_of(campaign, no)
    assert (skipped.status, skipped.skip_reason, skipped.email_status) == (
        "skipped",
        "no_consent",
        "no_consent",
    )
    assert send_of(campaign, no_address).skip_reason == "no_contact"
    assert [m.to for m in mail.outbox] == [[yes.email]]
    # No reward for a member the campaign did not reach.
    assert (balance(yes), balance(no), balance(no_address)) == (100, 0, 0)
    figures = campaign_figures(campaign)
    assert (figures.audience, figures.sent, figures.skipped) == (
        3,
        1,
        {"no_consent": 1, "no_contact": 1},
    )
    assert figures.by_channel["email"]["no_consent"] == 1


def test_a_member_who_unsubscribed_is_counted_apart(run_day):
    member = MemberFactory(email_consent=True)
    member_set_consent(member=member, channel="email", granted=True, source="portal")
    member_set_consent(
        member=member, channel="email", granted=False, source=ConsentEvent.Source.UNSUBSCRIBE
    )
    campaign = one_off(by_email=True, in_app=False)
    run_day(DAY, hour=10)
    assert send_of(campaign, member).skip_reason == Send.SkipReason.UNSUBSCRIBED


def test_in_app_needs_no_marketing_consent_and_is_written_once(run_day):
    member = MemberFactory(email_consent=False)
    campaign = one_off(by_email=True, in_app=True)
    run_day(DAY, hour=10)
    send = send_of(campaign, member)
    assert (send.status, send.in_app_status, send.email_status) == ("sent", "sent", "no_consent")
    notification = Notification.objects.get(member=member)
    assert notification.send == send
    assert notification.title == "Xin chào Nguyễn Văn An"
    assert mail.outbox == []


def test_a_blocked_member_is_skipped(run_day, support):
    member = MemberFactory()
    member_block(member=member, reason="fraud", acting_user=support)
    campaign = one_off(reward_kind="points", reward_points=10)
    run_day(DAY, hour=10)
    assert send_of(campaign, member).skip_reason == Send.SkipReason.BLOCKED
    assert balance(member) == 0


# ---------------------------------------------------------------------------------------------
# Quiet hours


def test_an_sms_due_in_quiet_hours_waits_until_8_and_goes_once(
    run_day, django_capture_on_commit_callbacks
):
    member = MemberFactory(sms_consent=True)
    campaign = one_off(by_sms=True, in_app=True, reward_kind="points", reward_points=20)
    run_day(DAY, hour=22)
    send = send_of(campaign, member)
    # In-app at once; the SMS waits: the send is queued again, not claimable before 08:00.
    assert (send.status, send.in_app_status, send.sms_status) == ("queued", "sent", "pending")
    assert send.not_before == datetime.combine(DAY + timedelta(days=1), time(8), tzinfo=VN)
    assert SmsLog.objects.count() == 0
    assert balance(member) == 20
    tick(at(DAY + timedelta(days=1), 7, 59), django_capture_on_commit_callbacks)
    assert SmsLog.objects.count() == 0
    tick(at(DAY + timedelta(days=1), 8, 0), django_capture_on_commit_callbacks)
    send.refresh_from_db()
    assert (send.status, send.sms_status) == ("sent", "sent")
    sms = SmsLog.objects.get()
    assert (sms.key, sms.phone, sms.text) == (str(send.pk), member.phone, "Chao Nguyễn Văn An")
    assert balance(member) == 20  # the reward was granted once, at the first attempt
    assert Notification.objects.filter(member=member).count() == 1


def test_an_sms_outside_quiet_hours_goes_at_once(run_day):
    member = MemberFactory(sms_consent=True)
    campaign = one_off(by_sms=True, in_app=False, send_at=at(DAY, 8))
    run_day(DAY, hour=8)
    assert send_of(campaign, member).status == "sent"
    assert SmsLog.objects.filter(key=str(send_of(campaign, member).pk)).exists()


# ---------------------------------------------------------------------------------------------
# Rewards and budgets


def set_tier(member, code):
    MemberTier.objects.create(
        member=member,
        tier=Tier.objects.get(code=code),
        since=date(2026, 1, 1),
        retained_until=date(2027, 1, 1),
    )


def test_the_default_birthday_campaign_greets_with_the_points_of_each_tier(run_day):
    activate_birthday()
    born = date(1990, DAY.month, DAY.day)
    bronze, gold, diamond = (MemberFactory(birth_date=born, email_consent=True) for _ in range(3))
    set_tier(gold, "gold")
    set_tier(diamond, "diamond")
    run_day(DAY)
    assert (balance(bronze), balance(gold), balance(diamond)) == (50, 200, 500)
    birthday = Campaign.objects.get(code="birthday")
    send = send_of(birthday, diamond)
    entry = PointEntry.objects.get(idempotency_key=f"send:{send.pk}")
    assert (entry.member_id, entry.available_delta, entry.kind) == (diamond.pk, 500, "bonus")
    assert send.points_granted == 500
    text = Notification.objects.get(member=diamond).body
    assert "500 điểm thưởng của hạng Kim cương" in text
    assert "dùng được đến hết ngày 31/03/2027" in text  # the lot's expiry, 12 months on
    assert len(mail.outbox) == 3
    assert campaign_figures(birthday).points_granted == 750


def test_a_points_budget_is_never_exceeded(run_day):
    members = [MemberFactory() for _ in range(3)]
    campaign = one_off(reward_kind="points", reward_points=100, budget_points=250)
    run_day(DAY, hour=10)
    statuses = sorted(send_of(campaign, m).status for m in members)
    assert statuses == ["sent", "sent", "skipped"]
    assert sorted(balance(m) for m in members) == [0, 100, 100]
    campaign.refresh_from_db()
    assert campaign.spent_points == 200
    figures = campaign_figures(campaign)
    assert (figures.points_granted, figures.skipped) == (200, {"budget": 1})


def make_reward(**fields) -> Reward:
    values = {
        "code": "giam-50k",
        "kind": Reward.Kind.AMOUNT,
        "name": "Giảm 50.000đ",
        "points_cost": 100,
        "discount_amount": Decimal("50000"),
        "voucher_valid_days": 30,
    }
    values.update(fields)
    return Reward.objects.create(**values)


def test_a_voucher_reward_within_its_budget_with_the_code_in_the_message(run_day):
    first, second = MemberFactory(), MemberFactory()
    campaign = one_off(
        reward_kind="voucher",
        reward=make_reward(),
        budget_vouchers=1,
        messages={"vi": ("Quà", "Mã {voucher_code}, hạn {expiry_date}", "")},
    )
    run_day(DAY, hour=10)
    voucher = Voucher.objects.get()
    assert (voucher.source, voucher.valid_until) == ("campaign", DAY + timedelta(days=29))
    send = Send.objects.get(voucher=voucher)
    assert voucher.reference == f"send:{send.pk}"
    other = ({first, second} - {voucher.member}).pop()
    assert send_of(campaign, other).skip_reason == "budget"
    body = Notification.objects.get(member=voucher.member).body
    assert body == f"Mã {voucher.code_display}, hạn 08/04/2026"
    figures = campaign_figures(campaign)
    assert (figures.vouchers_issued, figures.vouchers_used) == (1, 0)
    # Used at the till: counted as redeemed.
    with time_machine.travel(at(DAY, 15), tick=False), transaction.atomic():
        total = Decimal("300000")
        application = vouchers_for_purchase(
            codes=[voucher.code], member=voucher.member, amount=total, lock=True
        )
        purchase = PurchaseFactory(
            member=voucher.member,
            total_amount=total,
            voucher_discount=application.discount,
            amount_due=total - application.discount,
        )
        vouchers_consume_locked(application=application, purchase=purchase)
    assert campaign_figures(campaign).vouchers_used == 1


def test_a_reward_out_of_stock_skips_the_send(run_day):
    member = MemberFactory()
    campaign = one_off(reward_kind="voucher", reward=make_reward(stock_total=0))
    run_day(DAY, hour=10)
    assert send_of(campaign, member).skip_reason == Send.SkipReason.OUT_OF_STOCK


# ---------------------------------------------------------------------------------------------
# Failures, retries, workers that die


class FlakySms:
    calls: list[str] = []
    fail = ChannelError("provider down")

    def send(self, *, key, phone, text):
        FlakySms.calls.append(key)
        if FlakySms.fail:
            raise FlakySms.fail


def test_a_provider_failure_is_retried_with_back_off_then_fails(
    run_day, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "tests.campaigns.test_delivery.FlakySms"
    FlakySms.calls, FlakySms.fail = [], ChannelError("provider down")
    member = MemberFactory(sms_consent=True)
    campaign = one_off(by_sms=True, in_app=False)
    run_day(DAY, hour=10)
    send = send_of(campaign, member)
    assert (send.status, send.attempts, send.last_error) == ("queued", 1, "provider down")
    assert send.not_before == at(DAY, 10, 2)
    moment = at(DAY, 10, 2)
    for _attempt in range(MAX_ATTEMPTS - 1):
        tick(moment, django_capture_on_commit_callbacks)
        send.refresh_from_db()
        moment = send.not_before
    assert (send.status, send.sms_status, send.attempts) == ("failed", "failed", MAX_ATTEMPTS)
    assert FlakySms.calls == [str(send.pk)] * MAX_ATTEMPTS
    assert campaign_figures(campaign).failed == 1


def test_a_provider_that_refuses_for_good_is_not_retried(run_day, settings):
    settings.SMS_BACKEND = "tests.campaigns.test_delivery.FlakySms"
    FlakySms.calls, FlakySms.fail = [], PermanentChannelError("invalid number")
    member = MemberFactory(sms_consent=True)
    campaign = one_off(by_sms=True, in_app=True)
    run_day(DAY, hour=10)
    send = send_of(campaign, member)
    # The in-app notification reached the member: the send counts as sent.
    assert (send.status, send.sms_status, send.in_app_status) == ("sent", "failed", "sent")
    assert len(FlakySms.calls) == 1


def test_a_send_of_a_worker_that_died_is_taken_over_after_the_timeout_and_done_once(
    settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGNS_CLAIM_TIMEOUT = 300
    member = MemberFactory(sms_consent=True)
    campaign = one_off(by_sms=True, in_app=True, reward_kind="points", reward_points=30)
    with time_machine.travel(at(DAY, 9), tick=False):
        campaign_fan_out(campaign=campaign, today=DAY)
        dead_token, ids = sends_claim(campaign_id=campaign.pk)  # then the worker dies
    send = Send.objects.get(pk=ids[0])
    assert (send.status, send.attempts) == ("sending", 1)
    # Claimed recently: no other worker takes it, the tick leaves the campaign alone.
    assert tick(at(DAY, 9, 4), django_capture_on_commit_callbacks)["tasks"] == 0
    with time_machine.travel(at(DAY, 9, 4), tick=False):
        assert sends_claim(campaign_id=campaign.pk)[1] == []
    # Past the timeout the tick hands it to a worker, which finishes it.
    assert tick(at(DAY, 9, 6), django_capture_on_commit_callbacks)["tasks"] == 1
    send.refresh_from_db()
    assert (send.status, send.attempts) == ("sent", 2)
    # The first worker wakes up: its claim is gone, it does nothing.
    with time_machine.travel(at(DAY, 9, 7), tick=False):
        assert send_process(send_id=send.pk, token=dead_token) == "lost"
    assert balance(member) == 30
    assert PointEntry.objects.filter(idempotency_key=f"send:{send.pk}").count() == 1
    assert Notification.objects.filter(send=send).count() == 1
    assert SmsLog.objects.filter(key=str(send.pk)).count() == 1


def test_the_daily_job_twice_sends_nothing_twice(django_capture_on_commit_callbacks):
    activate_birthday()
    born = date(1991, DAY.month, DAY.day)
    members = [MemberFactory(birth_date=born, email_consent=True) for _ in range(3)]
    for hour in (1, 5):  # the nightly run, then someone runs the day again by hand
        with (
            time_machine.travel(at(DAY, hour), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            run = daily.run_daily_jobs(today=DAY)
        assert run.ok, run.as_dict()
    assert Send.objects.filter(status="sent").count() == 3
    assert len(mail.outbox) == 3
    assert Notification.objects.count() == 3
    assert [balance(m) for m in members] == [50, 50, 50]
    assert PointEntry.objects.filter(idempotency_key__startswith="send:").count() == 3


def test_a_paused_campaign_delivers_nothing_until_resumed(
    marketer, django_capture_on_commit_callbacks
):
    member = MemberFactory()
    campaign = one_off()
    with time_machine.travel(at(DAY, 10), tick=False):
        campaign_fan_out(campaign=campaign, today=DAY)
        campaign_pause(campaign=campaign, acting_user=marketer)
        assert dict(campaign_deliver(campaign_id=campaign.pk).outcomes) == {}
        assert send_of(campaign, member).status == "queued"
        with django_capture_on_commit_callbacks(execute=True):
            campaign_schedule(campaign=campaign, acting_user=marketer)
    assert send_of(campaign, member).status == "sent"


# ---------------------------------------------------------------------------------------------
# Figures


def test_figures_count_revenue_from_the_audience_in_the_30_days_after(run_day, store):
    reached, skipped = MemberFactory(), MemberFactory()
    outsider = MemberFactory()
    campaign = one_off(audience=Campaign.Audience.TIERS, tiers=[Tier.objects.get(code="silver")])
    for member in (reached, skipped):
        set_tier(member, "silver")
    member_block(member=skipped, reason="x", acting_user=_support())
    buy(reached, store, amount="100000", on=DAY - timedelta(days=1))  # before: not counted
    run_day(DAY, hour=10)
    buy(reached, store, amount="300000", on=DAY + timedelta(days=1), returned=50000)
    buy(skipped, store, amount="200000", on=DAY + timedelta(days=29))
    buy(reached, store, amount="900000", on=DAY + timedelta(days=31))  # after: not counted
    buy(outsider, store, amount="700000", on=DAY + timedelta(days=2))
    figures = campaign_figures(campaign)
    assert (figures.audience, figures.sent, figures.skipped) == (2, 1, {"blocked": 1})
    assert (figures.revenue, figures.purchases) == (Decimal("450000"), 2)


def _support():
    from django.contrib.auth.models import Group

    from members.roles import SUPPORT
    from tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    return user
