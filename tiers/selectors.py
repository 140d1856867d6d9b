"""Reads about tiers."""

from __future__ import annotations

from loyalty.cache import cached
from tiers.models import Tier


def tiers_ordered() -> list[Tier]:
    """Every tier, entry tier first (kept in process: read on every purchase)."""
    return cached("tiers", lambda: list(Tier.objects.order_by("rank")))


def tier_entry() -> Tier:
    return tiers_ordered()[0]


def tier_of_member(member_id: int) -> Tier:
    """The member's current tier. Until qualification is computed (the tiers capability)
    every member holds the entry tier."""
    return tier_entry()
