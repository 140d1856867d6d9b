"""Reads for the console's member search results and member 360 page.

The console sits above every domain app (as ``pos`` does), so it may read them all. Every
list on the page is one query of at most ``SECTION_ROWS`` rows (the ledger: one page of
``LEDGER_PAGE_SIZE``), so the page's query count does not grow with the member's history;
the counts beside each heading are one query each.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch

from members.models import (
    AuditEntry,
    DataRequest,
    Member,
    PointAccount,
    Purchase,
    PurchaseReturn,
)
from members.selectors import (
    history_items,
    member_consent_history,
    member_history,
    points_expiring_next,
    staff_store_ids,
    store_scoped,
)

SECTION_ROWS = 20
LEDGER_PAGE_SIZE = 20


def mask_code(code: str) -> str:
    """A voucher code as staff see it on the page: the last three characters
    (``****-****-JKX``), enough to match what a member reads out, not to use it."""
    from rewards.codes import voucher_code_display

    shown = voucher_code_display(code)
    keep = 3
    return "".join(ch if ch == "-" or i >= len(shown) - keep else "*" for i, ch in enumerate(shown))


def search_results(members: list[Member]) -> list[Member]:
    """The found members again with their account and tier, in the same order (one query)."""
    ids = [member.pk for member in members]
    rows = Member.objects.filter(pk__in=ids).select_related("account", "tier_status__tier")
    by_id = {member.pk: member for member in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def member_for_page(pk: int) -> Member | None:
    return (
        Member.objects.select_related(
            "user", "enrolled_at_store", "referred_by", "account", "tier_status__tier"
        )
        .filter(pk=pk)
        .first()
    )


def _ledger_status(status: str) -> str:
    """A history line's status in words: a credit's lot (pending, available, expired,
    cancelled); nothing for a debit ("done")."""
    from django.utils.translation import gettext as _

    return {
        "pending": _("Pending"),
        "available": _("Available"),
        "expired": _("Expired"),
        "cancelled": _("Cancelled"),
    }.get(status, "")


def member_page(member: Member, user, *, ledger_page: str | None) -> dict:
    """Everything the member 360 page shows ``user`` about ``member``; a section the user
    may not see is ``None``. Store managers see the purchases, returns and ledger lines of
    their own stores only (``staff_store_ids``; lines tied to no store stay visible)."""
    from campaigns.models import Send
    from promotions.models import Referral
    from rewards.models import Voucher
    from tiers.models import TierChange
    from tiers.selectors import tier_progress, tier_progress_lines

    scoped = staff_store_ids(user) is not None
    try:
        account = member.account
    except PointAccount.DoesNotExist:
        account = None

    progress = tier_progress(member.pk)
    entries = store_scoped(
        member_history(member),
        user,
        "purchase__store",
        "purchase_return__store",
        unbound=True,
    )
    ledger = Paginator(entries, LEDGER_PAGE_SIZE).get_page(ledger_page)

    purchases = store_scoped(Purchase.objects.filter(member=member), user, "store")
    returns = store_scoped(PurchaseReturn.objects.all(), user, "store")
    data = {
        "account": account,
        "expiring": points_expiring_next(member.pk),
        "progress": progress,
        "progress_lines": tier_progress_lines(progress),
        "tier_history": list(
            TierChange.objects.filter(member=member)
            .select_related("from_tier", "to_tier", "actor")
            .order_by("-at", "-id")[:SECTION_ROWS]
        ),
        "ledger": ledger,
        "ledger_items": [
            {"item": item, "status": _ledger_status(item.status)}
            for item in history_items(ledger.object_list)
        ],
        "store_scoped": scoped,
        "purchases": list(
            purchases.select_related("store")
            .prefetch_related(
                Prefetch(
                    "returns",
                    queryset=returns.select_related("store").order_by("created_at", "id"),
                )
            )
            .order_by("-occurred_at", "-id")[:SECTION_ROWS]
        ),
        "purchases_count": purchases.count(),
        "consent_history": None,
        "vouchers": None,
        "sends": None,
        "referrals_made": None,
        "referral_received": None,
        "data_requests": None,
        "audit": None,
    }
    if user.has_perm("members.view_consentevent"):
        data["consent_history"] = list(member_consent_history(member)[:SECTION_ROWS])
    if user.has_perm("rewards.view_voucher"):
        vouchers = list(
            Voucher.objects.filter(member=member)
            .select_related("reward")
            .order_by("-issued_at", "-id")[:SECTION_ROWS]
        )
        for voucher in vouchers:
            voucher.code_masked = mask_code(voucher.code)
        data["vouchers"] = vouchers
    if user.has_perm("campaigns.view_send"):
        data["sends"] = list(
            Send.objects.filter(member=member)
            .select_related("campaign")
            .order_by("-created_at", "-id")[:SECTION_ROWS]
        )
    if user.has_perm("promotions.view_referral"):
        data["referrals_made"] = list(
            Referral.objects.filter(referrer=member)
            .select_related("referee")
            .order_by("-joined_at", "-id")[:SECTION_ROWS]
        )
        data["referral_received"] = (
            Referral.objects.filter(referee=member).select_related("referrer").first()
        )
    if user.has_perm("members.view_datarequest"):
        data["data_requests"] = list(
            DataRequest.objects.filter(member=member)
            .select_related("acting_user")
            .order_by("-created_at", "-id")[:SECTION_ROWS]
        )
    if user.has_perm("members.view_auditentry"):
        data["audit"] = list(
            AuditEntry.objects.filter(member=member)
            .select_related("actor")
            .order_by("-at", "-id")[:SECTION_ROWS]
        )
    return data
