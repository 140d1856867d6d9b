"""Vouchers a campaign gives (``campaigns``): no points are spent, and the campaign's own
audience and budget stand for the catalogue's tier, date and per-member limits; the
reward's stock is taken like any other (and a partner code). Idempotent by the caller's
reference, so a campaign send retried after a crash never issues a second voucher."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import Member
from members.services import points as ledger
from rewards.models import Reward, Voucher
from rewards.services.issuing import _take_stock, _voucher_create


def voucher_issue_campaign(
    *,
    member: Member,
    reward: Reward,
    reference: str,
    reason: str,
    today: date | None = None,
) -> Voucher:
    """Issue ``reward``'s voucher to ``member`` for a campaign (source ``campaign``), valid
    from today for the reward's ``voucher_valid_days``. The same ``reference`` (the campaign
    send, ``send:<id>``) returns the voucher issued the first time. Raises
    ``member_blocked``, or ``reward_unavailable`` with ``reason_code`` ``out_of_stock``.

    Locks the member's point account first (the order of ``rewards.services.issuing``), so
    two calls with one reference cannot both issue."""
    reference = (reference or "").strip()[:64]
    if not reference:
        raise ValueError("a campaign voucher needs the caller's reference")
    now = timezone.now()
    today = today or timezone.localdate(now)
    with transaction.atomic():
        ledger.account_lock(member.pk)
        existing = Voucher.objects.filter(
            source=Voucher.Source.CAMPAIGN, member_id=member.pk, reference=reference
        ).first()
        if existing is not None:
            return existing
        fresh_member = Member.objects.get(pk=member.pk)
        if fresh_member.is_blocked:
            raise DomainError("member_blocked", _("This membership is blocked."))
        fresh_reward = Reward.objects.get(pk=reward.pk)
        partner = _take_stock(fresh_reward)
        return _voucher_create(
            member=fresh_member,
            reward=fresh_reward,
            source=Voucher.Source.CAMPAIGN,
            today=today,
            now=now,
            partner=partner,
            reference=reference,
            reason=(reason or "")[:500],
        )
