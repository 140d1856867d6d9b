"""Promotions' models: earning boosts and what they awarded (``promotions``), referrals and
their rules (``referrals``), activity bonuses and purchase reviews (``activity``)."""

from promotions.models.activity import ActivityBonus, PurchaseReview
from promotions.models.promotions import Promotion, PromotionAward
from promotions.models.referrals import KnownContact, Referral, ReferralProgram

__all__ = [
    "ActivityBonus",
    "KnownContact",
    "Promotion",
    "PromotionAward",
    "PurchaseReview",
    "Referral",
    "ReferralProgram",
]
