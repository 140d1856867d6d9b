"""The nightly member scores: RFM and lifecycle stage for every member, set-based."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from campaigns.services import scores_sql
from tiers.models import Tier
from tiers.services_sql import tier_job_window

RFM_MONTHS = 12
NEW_DAYS = 30  # first purchase on one of the last 30 days (today included): new
AT_RISK_DAYS = 90  # no purchase for 90 days or more: at risk
LAPSED_DAYS = 180  # no purchase for 180 days or more: lapsed
VIP_RFM_MIN = 14  # R + F + M at least this (5-5-4 or better): VIP


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def score_bounds(today: date) -> scores_sql.Bounds:
    """The instants a run for ``today`` compares purchases with, from local days.

    "No purchase for 90 days" means the last purchase was on today - 90 or before (local
    days): 89 days ago is still active. "First purchase in the last 30 days" means on one of
    today - 29 ... today: 30 days ago is no longer new.

    The 12-month figures count up to the end of today, over the window the tiers' nightly job
    of tomorrow counts (``tier_job_window``): from the whole day a year before tomorrow.
    """
    window_start, end = tier_job_window(today + timedelta(days=1), RFM_MONTHS)
    return scores_sql.Bounds(
        window_start=window_start,
        end=end,
        new_since=_start_of(today - timedelta(days=NEW_DAYS - 1)),
        at_risk_before=_start_of(today - timedelta(days=AT_RISK_DAYS - 1)),
        lapsed_before=_start_of(today - timedelta(days=LAPSED_DAYS - 1)),
    )


def _top_tier_id() -> int | None:
    """The highest tier, if there is more than one (a programme with a single tier has no
    top tier to make everyone VIP)."""
    ranked = list(Tier.objects.order_by("-rank").values_list("pk", flat=True)[:2])
    return ranked[0] if len(ranked) == 2 else None


def segments_compute(*, today: date) -> dict[str, int]:
    """Compute every member's ``MemberScore`` for ``today`` (the nightly job
    ``campaigns.segments``, after the tiers).

    Counted purchases are those not fully returned, up to the end of ``today``, their amount
    net of returns. Over the last 12 months (the tiers' window as their job of tomorrow
    counts it: from the whole local day a year before tomorrow up to the end of today),
    among the members with a counted purchase in it: recency (local day of the last
    purchase), frequency (number) and monetary (net spend) are scored 1-5 by quintile, ties
    sharing the lower score; the others have no scores (NULL). The stage, the
    first that applies:

    - ``potential``: no counted purchase ever;
    - ``lapsed``: the last one 180 days ago or more; ``at_risk``: 90 days or more;
    - ``vip``: in the top tier (the highest rank, when there are several), or R + F + M >= 14;
    - ``new``: the first one in the last 30 days;
    - ``active``: the others.

    ``lifecycle_since`` keeps the day a member entered their stage. A run writes only the rows
    that differ (``computed_on`` is one of the values), so a second run the same day writes
    nothing. Returns the number of members per stage, ``members``, ``scored`` and
    ``written``.
    """
    return scores_sql.compute(
        today=today,
        bounds=score_bounds(today),
        top_tier_id=_top_tier_id(),
        vip_rfm_min=VIP_RFM_MIN,
    )
