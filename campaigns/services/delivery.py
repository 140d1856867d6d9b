"""Delivery: workers claim chunks of due sends, deliver each through its channels and mark
it, exactly once.

A send moves ``queued`` -> ``sending`` (claimed: ``claimed_at``, a fresh ``claim_token``,
``attempts`` + 1) -> ``sent`` / ``failed`` / ``skipped`` (with its reason), or back to
``queued`` with a later ``not_before`` (an SMS in quiet hours, a provider down: back-off).

- Claiming is one short transaction: the due rows of a campaign, locked ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL (two workers take different chunks), then a conditional
  ``UPDATE ... WHERE status = 'queued'`` (or ``sending`` and stale) that stamps the token. On
  SQLite the write lock of the transaction serialises claims.
- Every later write checks the token (``_set``): a worker that stalls past
  ``CAMPAIGNS_CLAIM_TIMEOUT`` and finds its send taken over stops, so one worker finishes it.
- A claim is a lease: the worker renews the claims of its whole chunk as it goes
  (``sends_renew``, every quarter of the timeout, and each send as it starts), so a live
  worker keeps what it holds however slow its provider, and the claims of a worker that was
  killed go stale one timeout (3 minutes by default) after its last renewal; then the tick
  hands them to another worker (``campaigns_with_due_sends``). The broker is not trusted
  with this: a task lost with its worker is redelivered only after the visibility timeout.
- The reward is granted in one transaction with the send's ``reward_done``, through the
  ledger with the idempotency key ``send:<id>`` (a voucher: the reference ``send:<id>``), the
  budget taken by a conditional ``UPDATE`` on the campaign in the same transaction.
- Each channel is marked as soon as it is delivered; a provider call is never made inside
  a transaction. A crash between the call and the mark repeats the call with the same key
  (the send's id), which the provider deduplicates; the in-app notification is written in
  the transaction that marks it (and is unique on the send anyway).
"""

from __future__ import annotations

import logging
import time as monotonic_time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from campaigns.channels import ChannelError, Outgoing, PermanentChannelError, channel_get
from campaigns.models import Campaign, Send
from campaigns.rendering import MessageContext, member_language, render, unsubscribe_url
from campaigns.selectors import DELIVERING_STATES, sends_claimable_q
from loyalty.errors import DomainError
from members.models import ConsentEvent, Member, PointAccount, PointEntry, PointLot
from members.selectors import program_get
from members.services.points import points_grant
from rewards.models import Voucher
from rewards.services import voucher_issue_campaign
from tiers.selectors import tier_of_member

logger = logging.getLogger(__name__)

CHUNK = 100
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=2)  # doubled per attempt: 2, 4, 8, 16 minutes
Status = Send.Status
ChannelStatus = Send.ChannelStatus
SkipReason = Send.SkipReason


class _Lost(Exception):
    """Another worker took the send over (this worker's claim went stale)."""


class _BudgetSpent(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Quiet hours


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_hours() -> tuple[time, time]:
    start, end = settings.CAMPAIGNS_SMS_QUIET_HOURS.split("-")
    return _hhmm(start), _hhmm(end)


def quiet_hours_end(now: datetime) -> datetime | None:
    """When the quiet hours that ``now`` falls in end (local time), or None outside them."""
    start, end = quiet_hours()
    if start == end:
        return None
    zone = timezone.get_default_timezone()
    local = timezone.localtime(now, zone)
    moment = local.time()
    if start < end:
        inside, day = start <= moment < end, local.date()
    else:  # across midnight: 21:00-08:00
        inside = moment >= start or moment < end
        day = local.date() + timedelta(days=1) if moment >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone) if inside else None


# ---------------------------------------------------------------------------------------------
# Claiming


def sends_claim(
    *, campaign_id: int, now: datetime | None = None, limit: int = CHUNK
) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due sends of a campaign for this worker: (claim token, ids)."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    claimable = sends_claimable_q(now)
    with transaction.atomic():
        due = Send.objects.filter(claimable, campaign_id=campaign_id).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if not ids:
            return token, []
        Send.objects.filter(claimable, pk__in=ids).update(
            status=Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1
        )
    return token, list(
        Send.objects.filter(pk__in=ids, claim_token=token)
        .order_by("id")
        .values_list("id", flat=True)
    )


def sends_renew(*, token: str, now: datetime | None = None) -> int:
    """Renew the claims this worker (``token``) still holds; returns how many."""
    return Send.objects.filter(claim_token=token, status=Status.SENDING).update(
        claimed_at=now or timezone.now()
    )


def _guarded(send_id: int, token: str) -> QuerySet:
    return Send.objects.filter(pk=send_id, claim_token=token, status=Status.SENDING)


def _set(send: Send, token: str, **fields) -> None:
    """Write to a send this worker still holds, or raise ``_Lost``."""
    if _guarded(send.pk, token).update(**fields) != 1:
        raise _Lost
    for name, value in fields.items():
        setattr(send, name, value)


# ---------------------------------------------------------------------------------------------
# Rewards


def _take_budget(campaign: Campaign, *, points: int = 0, vouchers: int = 0) -> bool:
    """Count a grant against the campaign's cap, never past it (conditional UPDATE); True
    when there is no cap."""
    if points and campaign.budget_points is not None:
        return bool(
            Campaign.objects.filter(
                pk=campaign.pk, spent_points__lte=F("budget_points") - points
            ).update(spent_points=F("spent_points") + points)
        )
    if vouchers and campaign.budget_vouchers is not None:
        return bool(
            Campaign.objects.filter(
                pk=campaign.pk, spent_vouchers__lte=F("budget_vouchers") - vouchers
            ).update(spent_vouchers=F("spent_vouchers") + vouchers)
        )
    return True


def _reward(send: Send, token: str, campaign: Campaign, member: Member) -> str | None:
    """Grant the campaign's reward for this send once; returns a skip reason when it cannot
    (budget spent, out of stock), None when granted (or nothing to grant)."""
    kind = campaign.reward_kind
    if kind == Campaign.RewardKind.NONE or send.reward_done:
        return None
    with transaction.atomic():
        locked = _guarded(send.pk, token).select_for_update().first()
        if locked is None:
            raise _Lost
        if locked.reward_done:
            send.reward_done, send.points_granted = True, locked.points_granted
            send.voucher_id = locked.voucher_id
            return None
        points, voucher = 0, None
        try:
            with transaction.atomic():
                if kind == Campaign.RewardKind.VOUCHER:
                    voucher = voucher_issue_campaign(
                        member=member,
                        reward=campaign.reward,
                        reference=f"send:{send.pk}",
                        reason=campaign.name,
                    )
                    if not _take_budget(campaign, vouchers=1):
                        raise _BudgetSpent
                else:
                    points = (
                        campaign.reward_points
                        if kind == Campaign.RewardKind.POINTS
                        else tier_of_member(member.pk).birthday_points
                    ) or 0
                    if points:
                        points_grant(
                            member=member,
                            points=points,
                            idempotency_key=f"send:{send.pk}",
                            reason=campaign.name,
                            program=program_get(),
                            actor_label=f"campaign {campaign.code}",
                        )
                        if not _take_budget(campaign, points=points):
                            raise _BudgetSpent
        except _BudgetSpent:
            return SkipReason.BUDGET
        except DomainError as exc:
            if exc.code == "member_blocked":
                return SkipReason.BLOCKED
            if exc.code == "reward_unavailable":
                return SkipReason.OUT_OF_STOCK
            raise
        _set(send, token, reward_done=True, points_granted=points, voucher=voucher)
    return None


# ---------------------------------------------------------------------------------------------
# What the message says


def _event_voucher(send: Send, member: Member) -> Voucher | None:
    kind, _sep, rest = send.occurrence.partition(":")
    if kind != "voucher":
        return None
    voucher_id = rest.split(":", 1)[0]
    if not voucher_id.isdigit():
        return None
    return Voucher.objects.filter(pk=int(voucher_id), member=member).first()


def _expiring_points(send: Send, member: Member) -> tuple[int, date] | None:
    kind, _sep, rest = send.occurrence.partition(":")
    if kind != "points":
        return None
    try:
        on = date.fromisoformat(rest)
    except ValueError:
        return None
    points = PointLot.objects.filter(
        member=member, status=PointLot.Status.AVAILABLE, remaining__gt=0, expires_on=on
    ).aggregate(total=Sum("remaining"))["total"]
    return (points or 0), on


def message_context(send: Send, member: Member) -> MessageContext:
    """The placeholders' values for this send: ``{points}`` is what the send granted, else
    the points expiring (points-expiring trigger), else the available balance;
    ``{voucher_code}`` and ``{expiry_date}`` are the voucher the send issued, else the
    voucher expiring; ``{expiry_date}`` is also the expiry of the points granted or
    expiring."""
    tier = tier_of_member(member.pk)
    points, expiry = None, None
    voucher = send.voucher if send.voucher_id else _event_voucher(send, member)
    if send.points_granted:
        points = send.points_granted
        entry = (
            PointEntry.objects.filter(idempotency_key=f"send:{send.pk}")
            .select_related("lot")
            .first()
        )
        expiry = entry.lot.expires_on if entry and entry.lot else None
    else:
        expiring = _expiring_points(send, member)
        if expiring is not None:
            points, expiry = expiring
        else:
            points = (
                PointAccount.objects.filter(pk=member.pk)
                .values_list("available", flat=True)
                .first()
            )
    if voucher is not None:
        expiry = voucher.valid_until
    return MessageContext(
        name=member.full_name,
        tier_name=tier.name,
        tier_name_en=tier.name_en,
        points=max(points, 0) if points is not None else None,
        voucher_code=voucher.code_display if voucher is not None else "",
        expiry_date=expiry,
    )


# ---------------------------------------------------------------------------------------------
# One send


def _channel_statuses(send: Send) -> dict[str, str]:
    return {code: getattr(send, name) for code, name in Send.CHANNEL_FIELDS.items()}


def _skip_reason(send: Send, member: Member) -> str:
    statuses = {code: status for code, status in _channel_statuses(send).items() if status}
    refused = [code for code, status in statuses.items() if status == ChannelStatus.NO_CONSENT]
    if not refused:
        return SkipReason.NO_CONTACT
    last_sources = [
        ConsentEvent.objects.filter(member=member, channel=code)
        .order_by("-at", "-id")
        .values_list("source", flat=True)
        .first()
        for code in refused
    ]
    if all(source == ConsentEvent.Source.UNSUBSCRIBE for source in last_sources):
        return SkipReason.UNSUBSCRIBED
    return SkipReason.NO_CONSENT


def _finish(send: Send, token: str, status: str, *, now: datetime, reason: str = "") -> str:
    _set(send, token, status=status, skip_reason=reason, finished_at=now)
    return status


def _process(send: Send, token: str, now: datetime) -> str:
    campaign, member = send.campaign, send.member
    if member.is_blocked:
        return _finish(send, token, Status.SKIPPED, now=now, reason=SkipReason.BLOCKED)
    if member.is_erased:  # erased while queued: nobody to reach (members.services.privacy)
        return _finish(send, token, Status.SKIPPED, now=now, reason=SkipReason.NO_CONTACT)
    # Who may hear it now (consent is read again at every attempt: it may have changed), on
    # the channels the campaign still uses (a marketer may have turned one off while paused).
    changes = {}
    in_use = set(campaign.channels)
    for code, status in _channel_statuses(send).items():
        if status != ChannelStatus.PENDING:
            continue
        if code not in in_use:
            changes[Send.CHANNEL_FIELDS[code]] = ChannelStatus.NOT_USED
            continue
        channel = channel_get(code)
        if not channel.consented(member):
            changes[Send.CHANNEL_FIELDS[code]] = ChannelStatus.NO_CONSENT
        elif not channel.address(member):
            changes[Send.CHANNEL_FIELDS[code]] = ChannelStatus.NO_CONTACT
    if changes:
        _set(send, token, **changes)
    statuses = _channel_statuses(send)
    pending = [code for code, status in statuses.items() if status == ChannelStatus.PENDING]
    if not pending and ChannelStatus.SENT not in statuses.values():
        if ChannelStatus.FAILED in statuses.values():
            return _finish(send, token, Status.FAILED, now=now)
        return _finish(send, token, Status.SKIPPED, now=now, reason=_skip_reason(send, member))
    skip = _reward(send, token, campaign, member)
    if skip:
        return _finish(send, token, Status.SKIPPED, now=now, reason=skip)
    rendered = render(
        campaign,
        language=member_language(member),
        context=message_context(send, member),
        member_id=member.pk,
        email="email" in pending,
    )
    quiet_end = quiet_hours_end(now)
    deferred_until: datetime | None = None
    errors: list[str] = []
    for code in pending:
        if code == "sms" and quiet_end is not None:
            deferred_until = quiet_end
            continue
        channel = channel_get(code)
        outgoing = Outgoing(
            key=str(send.pk),
            send_id=send.pk,
            member_id=member.pk,
            address=channel.address(member),
            message=rendered,
            unsubscribe_url=unsubscribe_url(member.pk, "email") if code == "email" else "",
        )
        field_name = Send.CHANNEL_FIELDS[code]
        try:
            if channel.transactional:
                with transaction.atomic():
                    channel.deliver(outgoing)
                    _set(send, token, **{field_name: ChannelStatus.SENT})
            else:
                channel.deliver(outgoing)
                _set(send, token, **{field_name: ChannelStatus.SENT})
        except PermanentChannelError as exc:
            logger.warning("send %s: %s failed for good: %s", send.pk, code, exc)
            _set(send, token, **{field_name: ChannelStatus.FAILED, "last_error": str(exc)[:255]})
        except ChannelError as exc:
            logger.warning("send %s: %s failed, to try again: %s", send.pk, code, exc)
            errors.append(code)
            _set(send, token, last_error=str(exc)[:255])
    if errors and send.attempts >= MAX_ATTEMPTS:
        _set(send, token, **{Send.CHANNEL_FIELDS[code]: ChannelStatus.FAILED for code in errors})
        errors = []
    statuses = _channel_statuses(send)
    if ChannelStatus.PENDING in statuses.values():
        retry_at = now + RETRY_BASE * 2 ** max(send.attempts - 1, 0)
        # A provider error is retried after its back-off (an SMS still in quiet hours then
        # waits again); otherwise the SMS waits for the end of the quiet hours.
        when = retry_at if errors or deferred_until is None else deferred_until
        _set(send, token, status=Status.QUEUED, not_before=when)
        return "retry" if errors else "deferred"
    if ChannelStatus.SENT in statuses.values():
        return _finish(send, token, Status.SENT, now=now)
    return _finish(send, token, Status.FAILED, now=now)


def send_process(*, send_id: int, token: str, now: datetime | None = None) -> str:
    """Deliver one claimed send. Returns ``sent``, ``failed``, ``skipped``, ``deferred``
    (an SMS waits for the end of quiet hours), ``retry`` (a provider failed: tried again
    after a back-off, ``MAX_ATTEMPTS`` in all), ``error`` (an unexpected error: the same) or
    ``lost`` (the claim went stale and another worker has the send)."""
    now = now or timezone.now()
    send = (
        _guarded(send_id, token)
        .select_related("campaign", "member", "voucher")
        .prefetch_related("campaign__messages")
        .first()
    )
    if send is None:
        return "lost"
    try:
        # Renew the claim for this send: a chunk can outlast CAMPAIGNS_CLAIM_TIMEOUT while a
        # provider is slow, and another worker must not take over the send in hand.
        _set(send, token, claimed_at=timezone.now())
        if send.attempts > MAX_ATTEMPTS:
            _set(send, token, last_error="too many attempts")
            return _finish(send, token, Status.FAILED, now=now)
        return _process(send, token, now)
    except _Lost:
        return "lost"
    except Exception as exc:
        logger.exception("send %s failed unexpectedly", send_id)
        final = send.attempts >= MAX_ATTEMPTS
        fields = {"last_error": repr(exc)[:255]}
        if final:
            fields.update(status=Status.FAILED, finished_at=now)
        else:
            fields.update(
                status=Status.QUEUED, not_before=now + RETRY_BASE * 2 ** max(send.attempts - 1, 0)
            )
        _guarded(send_id, token).update(**fields)
        return "error"


# ---------------------------------------------------------------------------------------------
# A worker's run over one campaign


@dataclass
class DeliveryRun:
    campaign_id: int
    outcomes: Counter = field(default_factory=Counter)
    more: bool = False  # stopped for time with sends still due: queue another run

    def as_dict(self) -> dict:
        return {"campaign": self.campaign_id, "more": self.more, **dict(self.outcomes)}


def campaign_deliver(*, campaign_id: int, time_budget: float = 240.0) -> DeliveryRun:
    """Claim and deliver the due sends of a campaign, chunk after chunk, until none is due,
    the campaign is paused, or ``time_budget`` seconds have passed (then ``more``)."""
    run = DeliveryRun(campaign_id=campaign_id)
    started = monotonic_time.monotonic()
    while True:
        state = Campaign.objects.filter(pk=campaign_id).values_list("state", flat=True).first()
        if state not in DELIVERING_STATES:
            break
        token, ids = sends_claim(campaign_id=campaign_id)
        if not ids:
            break
        renewed = monotonic_time.monotonic()
        renew_every = settings.CAMPAIGNS_CLAIM_TIMEOUT / 4
        for send_id in ids:
            if monotonic_time.monotonic() - renewed >= renew_every:
                sends_renew(token=token)
                renewed = monotonic_time.monotonic()
            run.outcomes[send_process(send_id=send_id, token=token)] += 1
        if monotonic_time.monotonic() - started > time_budget:
            run.more = True
            break
    return run
