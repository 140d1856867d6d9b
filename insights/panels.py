"""The overview's three smaller panels for a period and a set of stores: top rewards,
campaign results and the referral funnel.

Each is one or two grouped queries bounded by the period's timestamps (``issued_at`` /
``used_at`` of vouchers, ``created_at`` of sends, ``joined_on`` of referrals) and a LIMIT,
so they stay cheap beside the figures read from the daily facts. ``store_ids`` ``None``
means the whole chain; otherwise vouchers count by the store that issued or took them,
sends and referrals by the member's enrolling store.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

TOP = 10


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the programme's time zone."""
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def top_rewards(*, start: date, end: date, store_ids: set[int] | None, limit: int = TOP) -> list:
    """The rewards with the most vouchers issued in the period (then used), up to
    ``limit``: rows of ``reward_id``, ``name``, ``issued``, ``used`` (vouchers of that
    reward used in the period, wherever issued). Two grouped queries."""
    from loyalty.localised import localised
    from rewards.models import Reward, Voucher

    lo, hi = _bounds(start, end)
    issued_qs = Voucher.objects.filter(issued_at__gte=lo, issued_at__lt=hi)
    used_qs = Voucher.objects.filter(used_at__gte=lo, used_at__lt=hi)
    if store_ids is not None:
        issued_qs = issued_qs.filter(issued_at_store_id__in=store_ids)
        used_qs = used_qs.filter(used_on__store_id__in=store_ids)
    issued = {
        row["reward_id"]: row["n"]
        for row in issued_qs.order_by().values("reward_id").annotate(n=Count("id"))
    }
    used = {
        row["reward_id"]: row["n"]
        for row in used_qs.order_by().values("reward_id").annotate(n=Count("id"))
    }
    ids = sorted(set(issued) | set(used), key=lambda i: (-issued.get(i, 0), -used.get(i, 0), i))
    ids = ids[:limit]
    rewards = {r.id: r for r in Reward.objects.filter(id__in=ids)}
    return [
        {
            "reward_id": rid,
            "name": localised(rewards[rid], "name") if rid in rewards else str(rid),
            "issued": issued.get(rid, 0),
            "used": used.get(rid, 0),
        }
        for rid in ids
    ]


def campaign_results(
    *, start: date, end: date, store_ids: set[int] | None, limit: int = TOP * 2
) -> list:
    """Per campaign with sends created in the period (most sends first, up to ``limit``):
    ``campaign_id``, ``name``, ``sends``, ``sent``, ``failed``, ``skipped``, ``queued``
    (queued or being sent), ``vouchers`` issued by those sends and ``vouchers_used``. One
    grouped query and one for the names."""
    from campaigns.models import Campaign, Send

    lo, hi = _bounds(start, end)
    sends = Send.objects.filter(created_at__gte=lo, created_at__lt=hi)
    if store_ids is not None:
        sends = sends.filter(member__enrolled_at_store_id__in=store_ids)
    status = Send.Status
    rows = list(
        sends.order_by()
        .values("campaign_id")
        .annotate(
            sends=Count("id"),
            sent=Count("id", filter=Q(status=status.SENT)),
            failed=Count("id", filter=Q(status=status.FAILED)),
            skipped=Count("id", filter=Q(status=status.SKIPPED)),
            queued=Count("id", filter=Q(status__in=[status.QUEUED, status.SENDING])),
            vouchers=Count("voucher_id"),
            vouchers_used=Count("id", filter=Q(voucher__status="used")),
        )
        .order_by("-sends", "campaign_id")[:limit]
    )
    names = dict(
        Campaign.objects.filter(id__in=[r["campaign_id"] for r in rows]).values_list("id", "name")
    )
    for row in rows:
        row["name"] = names.get(row["campaign_id"], str(row["campaign_id"]))
    return rows


def referral_funnel(*, start: date, end: date, store_ids: set[int] | None) -> dict:
    """The referrals whose new member joined in the period: ``joined``, ``bought`` (a
    qualifying purchase recorded), ``rewarded``, ``pending``, ``held`` (flagged for review),
    ``refused``. One query over ``joined_on``."""
    from promotions.models import Referral

    referrals = Referral.objects.filter(joined_on__gte=start, joined_on__lte=end)
    if store_ids is not None:
        referrals = referrals.filter(referee__enrolled_at_store_id__in=store_ids)
    status = Referral.Status
    return referrals.aggregate(
        joined=Count("id"),
        bought=Count("id", filter=Q(purchase_id__isnull=False)),
        rewarded=Count("id", filter=Q(status=status.REWARDED)),
        pending=Count("id", filter=Q(status=status.PENDING)),
        held=Count("id", filter=Q(status=status.HELD)),
        refused=Count("id", filter=Q(status=status.REFUSED)),
    )
