"""Writes about promotions: what promotions add to a purchase (``earning``), referrals
(``referrals``), activity bonuses and reviews (``activity``)."""

from promotions.services.activity import (
    activity_bonus_first_login,
    activity_bonus_profile_completed,
    profile_is_complete,
    purchase_review_submit,
)
from promotions.services.earning import (
    PromotionOutcome,
    promotion_awards_record,
    promotions_for_purchase,
)
from promotions.services.referrals import (
    REASONS,
    contacts_record,
    reason_text,
    referral_approve,
    referral_record_join,
    referral_reject,
    referrals_pay_due,
)

__all__ = [
    "REASONS",
    "PromotionOutcome",
    "activity_bonus_first_login",
    "activity_bonus_profile_completed",
    "contacts_record",
    "profile_is_complete",
    "promotion_awards_record",
    "promotions_for_purchase",
    "purchase_review_submit",
    "reason_text",
    "referral_approve",
    "referral_record_join",
    "referral_reject",
    "referrals_pay_due",
]
