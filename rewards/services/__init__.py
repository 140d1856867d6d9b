"""Writes about rewards and vouchers: issuing (``issuing``: redeem, goodwill, cancel,
partner code pools), the till (``till``: pricing, consuming and giving back vouchers, the
daily expiry), campaign vouchers (``campaign``) and the demo catalogue (``demo``)."""

from rewards.services.campaign import voucher_issue_campaign
from rewards.services.demo import rewards_seed_demo
from rewards.services.issuing import (
    PartnerCodesImport,
    offer_error,
    partner_codes_import,
    partner_codes_read_csv,
    reward_redeem,
    voucher_cancel,
    voucher_issue_goodwill,
)
from rewards.services.till import (
    VoucherApplication,
    voucher_discount,
    vouchers_consume_locked,
    vouchers_expire_due,
    vouchers_for_purchase,
    vouchers_restore_for_return,
)

__all__ = [
    "PartnerCodesImport",
    "VoucherApplication",
    "offer_error",
    "partner_codes_import",
    "partner_codes_read_csv",
    "reward_redeem",
    "rewards_seed_demo",
    "voucher_cancel",
    "voucher_discount",
    "voucher_issue_campaign",
    "voucher_issue_goodwill",
    "vouchers_consume_locked",
    "vouchers_expire_due",
    "vouchers_for_purchase",
    "vouchers_restore_for_return",
]
