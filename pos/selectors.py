"""Reads of the POS layer."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.cache import cached, forget
from loyalty.errors import DomainError
from members.identifiers import card_number_clean, phone_mask
from members.models import Member, PointAccount
from members.selectors import points_expiring_next
from pos.keys import key_hash_candidates
from pos.models import StoreApiKey
from rewards.selectors import voucher_discount_body
from tiers.selectors import tier_of_member


def api_key_authenticate(raw: str) -> StoreApiKey | None:
    """The active key matching ``raw`` (with its store), or None for unknown or revoked."""
    if not raw or not raw.startswith("lk_"):
        return None
    hashes = key_hash_candidates(raw)

    def load():
        return (
            StoreApiKey.objects.select_related("store")
            .filter(key_hash__in=hashes, revoked_at__isnull=True)
            .first()
        )

    api_key = cached(f"apikey:{hashes[0]}", load)
    if api_key is None:
        forget(f"apikey:{hashes[0]}")  # never cache a miss: a new key works at once
    return api_key


def member_by_card_or_404(card_number: str) -> Member:
    """The member with this card number, or the contract's 404 (an erased member's card
    identifies nobody)."""
    member = (
        Member.objects.filter(card_number=card_number_clean(card_number))
        .exclude(status=Member.Status.ERASED)
        .first()
    )
    if member is None:
        raise DomainError("not_found", _("No member with this card number."))
    return member


def member_summary(member) -> dict:
    """The contract's ``MemberSummary``: what a cashier sees about a member."""
    account = PointAccount.objects.get(pk=member.pk)
    tier = tier_of_member(member.pk)
    expiring = points_expiring_next(member.pk)
    return {
        "card_number": member.card_number,
        "full_name": member.full_name,
        "phone_masked": phone_mask(member.phone),
        "status": member.status,
        "tier": {"code": tier.code, "name": tier.name},
        "points": {"available": account.available, "pending": account.pending},
        "expiring": {"points": expiring.points, "on": expiring.on.isoformat()}
        if expiring
        else None,
        "referral_code": member.referral_code,
    }


def voucher_body(voucher) -> dict:
    """The contract's voucher: status as of today (a voucher past its last day reads
    ``expired`` before the daily job marks it), its owner's card, its reward, its discount."""
    status = voucher.status
    if status == "issued" and voucher.valid_until < timezone.localdate():
        status = "expired"
    return {
        "code": voucher.code,
        "status": status,
        "member": voucher.member.card_number,
        "reward": {"id": voucher.reward_id, "name": voucher.reward.name, "kind": voucher.kind},
        "valid_from": voucher.valid_from.isoformat(),
        "valid_until": voucher.valid_until.isoformat(),
        "discount": voucher_discount_body(voucher),
    }
