"""Reads about tiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.cache import cached, forget
from members.models import Purchase
from members.selectors import program_get
from tiers import services_sql
from tiers.models import MemberTier, Tier, TierChange, TierPolicy


def tier_policy_get() -> TierPolicy:
    """The tier policy (one row, created by migration; its defaults if the row is gone,
    say after a ``flush``)."""
    return TierPolicy.objects.filter(pk=TierPolicy.SINGLETON_ID).first() or TierPolicy()


def tiers_ordered() -> list[Tier]:
    """Every tier, entry tier first (kept in process: read on every purchase)."""
    return cached("tiers", lambda: list(Tier.objects.order_by("rank")))


def tier_entry() -> Tier:
    return tiers_ordered()[0]


def _tier_by_id(tier_id: int) -> Tier | None:
    return next((tier for tier in tiers_ordered() if tier.pk == tier_id), None)


def tier_of_member(member_id: int) -> Tier:
    """The member's current tier: their ``MemberTier``'s, or the entry tier until the
    nightly job has given them one. One query (the tier table comes from the process cache).
    """
    tier_id = MemberTier.objects.filter(pk=member_id).values_list("tier_id", flat=True).first()
    return tier_from_id(tier_id)


def tier_from_id(tier_id: int | None) -> Tier:
    """A tier by id from the process cache (the entry tier for None), for callers that
    already read the member's tier id."""
    if tier_id is None:
        return tier_entry()
    tier = _tier_by_id(tier_id)
    if tier is None:  # a tier created since this process cached the table
        forget("tiers")
        tier = _tier_by_id(tier_id) or tier_entry()
    return tier


def tier_whatif(*, thresholds: dict[str, tuple], today: date) -> dict[str, int]:
    """How many members would qualify for each tier (code -> count) if the tiers given in
    ``thresholds`` (code -> (min_spend, min_purchases)) had those minimums; tiers not given
    keep theirs. Counts the qualified tier the nightly job of ``today`` computes, over the
    same window (``services_sql.tier_job_window``: up to the end of the day before), ignoring
    retention and locks. One aggregate query; changes nothing."""
    tiers = list(Tier.objects.order_by("rank"))
    unknown = set(thresholds) - {tier.code for tier in tiers}
    if unknown:
        raise ValueError(f"unknown tier codes: {sorted(unknown)}")
    rows = []
    for tier in tiers:
        min_spend, min_purchases = thresholds.get(tier.code, (tier.min_spend, tier.min_purchases))
        rows.append(
            services_sql.Threshold(tier.pk, tier.rank, Decimal(min_spend), int(min_purchases))
        )
    start, end = services_sql.tier_job_window(today, program_get().tier_window_months)
    by_rank = services_sql.qualified_counts(rows, start=start, end=end)
    return {tier.code: by_rank.get(tier.rank, 0) for tier in tiers}


def member_qualifying_figures(member_id: int, *, today: date) -> tuple[Decimal, int]:
    """(net spend, purchases not fully returned) of one member over the live window of
    ``today`` (``services_sql.tier_live_window``: from the first day the nightly job of
    ``today`` counts up to now), as the till counts them. One query."""
    start, end = services_sql.tier_live_window(today, program_get().tier_window_months)
    figures = Purchase.objects.filter(
        member_id=member_id, occurred_at__gte=start, occurred_at__lt=end
    ).aggregate(
        spend=Sum(F("total_amount") - F("returned_amount")),
        purchases=Count("id", filter=Q(returned_amount__lt=F("total_amount"))),
    )
    return figures["spend"] or Decimal(0), figures["purchases"] or 0


def tier_qualified(spend: Decimal, purchases: int) -> Tier:
    """The highest tier whose two minimums ``spend`` and ``purchases`` both meet (the entry
    tier otherwise), from the process cache of the tier table."""
    met = [t for t in tiers_ordered() if t.min_spend <= spend and t.min_purchases <= purchases]
    return met[-1] if met else tier_entry()


@dataclass(frozen=True)
class TierProgress:
    """Where a member stands: for the portal and the API.

    The first fields are the raw figures (kept for the POS API). The rest say it as a member
    reads it (``tier_progress_lines``), each a true statement about the rules
    (``tier_progress`` explains how each date is worked out):

    - ``spend_needed``/``purchases_needed``: what the next tier still lacks (0 when met);
      ``by_date``: the last day on which making them reaches it, before the member's oldest
      counted purchase leaves the window (None at the top tier);
    - ``upgrade_on``: the member already qualifies and the nightly job of that day moves
      them up (a purchase at the till would do it at once);
    - ``keep_until``: the last day the current tier is sure to be held (None for the entry
      tier, or when tiers never go down: ``keeps_for_good``); ``keep_spend_needed``/
      ``keep_purchases_needed``: what keeps it at the review the day after, made by then;
    - ``percent``: 0-100 toward the next tier (the mean of the spend and purchase parts;
      100 at the top tier).
    """

    tier: Tier
    window_start: date
    window_end: date
    spend: Decimal
    purchases: int
    next_tier: Tier | None
    spend_to_next: Decimal
    purchases_to_next: int
    retained_until: date | None
    spend_to_keep: Decimal
    purchases_to_keep: int
    spend_needed: Decimal = Decimal(0)
    purchases_needed: int = 0
    by_date: date | None = None
    upgrade_on: date | None = None
    keep_until: date | None = None
    keeps_for_good: bool = False
    keep_spend_needed: Decimal = Decimal(0)
    keep_purchases_needed: int = 0
    percent: int = 0
    window_months: int = 12

    @property
    def is_top(self) -> bool:
        return self.next_tier is None


def tier_last_day_counting(day: date, months: int) -> date:
    """The last day whose tier window still counts a purchase made on ``day``: the largest
    E with ``tier_window_first_day(E, months) <= day``. Usually the same day ``months``
    months later; at a month's end the clamping of shorter months stretches it (a purchase
    of 28/02/2027 counts until 31/03/2027 with a one-month window, one of 31/03/2026 until
    30/04/2026)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    candidate = date(year, month, min(day.day, services_sql._days_in_month(year, month)))
    while services_sql.tier_window_first_day(candidate + timedelta(days=1), months) <= day:
        candidate += timedelta(days=1)
    return candidate


def _member_days(member_id: int, start: datetime, end: datetime) -> list[tuple[date, Decimal, int]]:
    """(local day, net spend, purchases not fully returned) per day with purchases in
    [start, end), oldest first: one query over the (member, occurred_at) index."""
    from django.db.models.functions import TruncDate

    rows = (
        Purchase.objects.filter(member_id=member_id, occurred_at__gte=start, occurred_at__lt=end)
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_default_timezone()))
        .values("day")
        .annotate(
            spend=Sum(F("total_amount") - F("returned_amount")),
            n=Count("id", filter=Q(returned_amount__lt=F("total_amount"))),
        )
        .order_by("day")
        .values_list("day", "spend", "n")
    )
    return [(day, spend or Decimal(0), n or 0) for day, spend, n in rows]


def _meets(tier: Tier, spend: Decimal, purchases: int) -> bool:
    return spend >= tier.min_spend and purchases >= tier.min_purchases


def _since(days, first_day: date) -> tuple[Decimal, int]:
    kept = [(s, n) for d, s, n in days if d >= first_day]
    return sum((s for s, _n in kept), Decimal(0)), sum(n for _s, n in kept)


def _percent(tier: Tier | None, spend: Decimal, purchases: int) -> int:
    if tier is None:
        return 100
    parts = []
    if tier.min_spend > 0:
        parts.append(min(spend / tier.min_spend, Decimal(1)))
    if tier.min_purchases > 0:
        parts.append(min(Decimal(purchases) / tier.min_purchases, Decimal(1)))
    if not parts:
        return 100
    return int(sum(parts) / len(parts) * 100)


def tier_progress(member_id: int, *, today: date | None = None) -> TierProgress:
    """What the member needs to reach the next tier, and to keep theirs, counted as the till
    and the nightly job count (net spend and purchases not fully returned, over the rolling
    window of ``Program.tier_window_months``: ``services_sql.tier_live_window``).

    How the dates are true statements about the rules:

    - *by_date*: a purchase made on day P counts in every window up to
      ``tier_last_day_counting(P)``. Until that day for the member's oldest counted purchase
      (today's date when there is none), nothing counted now leaves the window, so spending
      ``spend_needed`` more in ``purchases_needed`` more purchases on or before it meets the
      next tier's minimums, and the till moves the member up with the purchase that does it.
      Later, the oldest purchases drop out and more would be needed.
    - *upgrade_on*: the member already meets the next tier (a lowered threshold, imported
      purchases) and the nightly job of tomorrow, counting up to the end of today, still
      does: it moves them up tomorrow. When tomorrow's window already lost the purchase
      that made the difference, a purchase today moves them up (``by_date`` is today).
    - *keep_until*: the nightly job moves a member down only when ``today >
      retained_until``, not while a staff lock holds (``today < locked_until``), and only
      when the job's window (up to the end of the day before) falls short of the tier.
      So the tier is sure until the later of ``retained_until``, the day before
      ``locked_until``, and the last day on which the purchases counted now still meet it
      for the job (the day before the job whose window loses the purchase that made the
      difference). Under the ``none`` policy a tier never goes down.
    """
    today = today or timezone.localdate()
    program = program_get()
    months = program.tier_window_months
    start, end = services_sql.tier_live_window(today, months)
    days = _member_days(member_id, start, end)
    spend = sum((s for _d, s, _n in days), Decimal(0))
    purchases = sum(n for _d, _s, n in days)
    status = MemberTier.objects.filter(pk=member_id).first()
    tier = tier_from_id(status.tier_id if status else None)
    higher = [t for t in tiers_ordered() if t.rank > tier.rank]
    next_tier = higher[0] if higher else None
    counted = [d for d, s, n in days if s > 0 or n > 0]

    spend_needed, purchases_needed, by_date, upgrade_on = Decimal(0), 0, None, None
    if next_tier is not None:
        spend_needed = max(next_tier.min_spend - spend, Decimal(0))
        purchases_needed = max(next_tier.min_purchases - purchases, 0)
        if spend_needed or purchases_needed:
            by_date = tier_last_day_counting(min(counted[:1] or [today]), months)
        else:
            tomorrow = today + timedelta(days=1)
            job_spend, job_purchases = _since(
                days, services_sql.tier_window_first_day(tomorrow, months)
            )
            if _meets(next_tier, job_spend, job_purchases):
                upgrade_on = tomorrow
            else:
                by_date = today

    keep_until, keeps_for_good = None, False
    keep_spend_needed, keep_purchases_needed = Decimal(0), 0
    if status is not None and tier.rank > tier_entry().rank:
        if tier_policy_get().downgrade_policy == TierPolicy.Downgrade.NONE or not (
            tier.min_spend or tier.min_purchases
        ):
            keeps_for_good = True
        else:
            sure = status.retained_until
            if status.locked_until is not None:
                sure = max(sure, status.locked_until - timedelta(days=1))
            keep_until = max(sure, today)
            # The purchases counted now keep the tier for the job of day E as long as those
            # made on or after tier_window_first_day(E) still meet it.
            # The job of day E counts the purchases made on or after
            # tier_window_first_day(E), i.e. those of days whose last counting day is E or
            # later. Oldest first: while what is left from ``day`` on still meets the tier,
            # the member keeps it through the last day that counts ``day``.
            for day in counted:
                if not _meets(tier, *_since(days, day)):
                    break
                keep_until = max(keep_until, tier_last_day_counting(day, months))
            review = keep_until + timedelta(days=1)
            review_spend, review_purchases = _since(
                days, services_sql.tier_window_first_day(review, months)
            )
            keep_spend_needed = max(tier.min_spend - review_spend, Decimal(0))
            keep_purchases_needed = max(tier.min_purchases - review_purchases, 0)

    return TierProgress(
        tier=tier,
        window_start=timezone.localdate(start),
        window_end=today,
        spend=spend,
        purchases=purchases,
        next_tier=next_tier,
        spend_to_next=spend_needed,
        purchases_to_next=purchases_needed,
        retained_until=status.retained_until if status else None,
        spend_to_keep=max(tier.min_spend - spend, Decimal(0)),
        purchases_to_keep=max(tier.min_purchases - purchases, 0),
        spend_needed=spend_needed,
        purchases_needed=purchases_needed,
        by_date=by_date,
        upgrade_on=upgrade_on,
        keep_until=keep_until,
        keeps_for_good=keeps_for_good,
        keep_spend_needed=keep_spend_needed,
        keep_purchases_needed=keep_purchases_needed,
        percent=_percent(next_tier, spend, purchases),
        window_months=months,
    )


def tier_upgrades_between(start: datetime, end: datetime) -> QuerySet[TierChange]:
    """Upgrades recorded in [start, end): the events the campaigns send "welcome to your
    new tier" for (by the purchase that crossed a threshold, or the nightly job)."""
    return (
        TierChange.objects.filter(reason=TierChange.Reason.UPGRADE, at__gte=start, at__lt=end)
        .select_related("member", "from_tier", "to_tier")
        .order_by("at", "id")
    )


@dataclass(frozen=True)
class DowngradeNotice:
    """A member whose tier comes up for review on ``review_on`` and who, counted today, no
    longer meets it: what they would go down to, and what they need to keep it."""

    member_id: int
    tier: Tier
    to_tier: Tier
    review_on: date
    spend_to_keep: Decimal
    purchases_to_keep: int


def tier_downgrades_due(*, today: date, days_ahead: int = 30) -> list[DowngradeNotice]:
    """Who to tell of a coming downgrade ``days_ahead`` days before their review (the first
    day the nightly job may move them down: the day after ``retained_until``): members not
    locked past it, whose net spend or purchases, counted as the nightly job of ``today``
    counts them (``services_sql.tier_job_window``), fall short of their tier, under a
    downgrade policy other than ``none``. One query; the list holds only the members due
    that day."""
    policy = tier_policy_get().downgrade_policy
    if policy == TierPolicy.Downgrade.NONE:
        return []
    review_on = today + timedelta(days=days_ahead)
    start, end = services_sql.tier_job_window(today, program_get().tier_window_months)
    in_window = Purchase.objects.filter(
        member_id=OuterRef("member_id"), occurred_at__gte=start, occurred_at__lt=end
    ).values("member_id")
    spend = in_window.annotate(s=Sum(F("total_amount") - F("returned_amount"))).values("s")
    count = in_window.annotate(
        n=Count("id", filter=Q(returned_amount__lt=F("total_amount")))
    ).values("n")
    rows = (
        MemberTier.objects.filter(retained_until=review_on - timedelta(days=1))
        .exclude(locked_until__gt=review_on)
        .annotate(
            spend=Coalesce(Subquery(spend), Value(Decimal(0)), output_field=DecimalField()),
            purchases=Coalesce(Subquery(count), Value(0)),
        )
        .filter(Q(spend__lt=F("tier__min_spend")) | Q(purchases__lt=F("tier__min_purchases")))
        .order_by("member_id")
        .values_list("member_id", "tier_id", "spend", "purchases")
    )
    notices = []
    for member_id, tier_id, spent, purchases in rows:
        tier = tier_from_id(tier_id)
        if policy == TierPolicy.Downgrade.ONE_LEVEL:
            lower = [t for t in tiers_ordered() if t.rank < tier.rank]
            to_tier = lower[-1] if lower else tier
        else:
            to_tier = tier_qualified(spent, purchases)
        if to_tier.rank >= tier.rank:
            continue
        notices.append(
            DowngradeNotice(
                member_id=member_id,
                tier=tier,
                to_tier=to_tier,
                review_on=review_on,
                spend_to_keep=max(tier.min_spend - spent, Decimal(0)),
                purchases_to_keep=max(tier.min_purchases - purchases, 0),
            )
        )
    return notices


def _tier_name(tier: Tier) -> str:
    return tier.localised("name")


def tier_progress_lines(progress: TierProgress) -> list[str]:
    """The member's progress in sentences, in the active language: what the next tier still
    needs and by when (only the parts still needed), or that it is coming, or that this is
    the top tier; then until when the tier is kept and what keeps it after that."""
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from loyalty.formatting import date_display, money_display

    lines: list[str] = []
    if progress.next_tier is None:
        lines.append(_("You are at our highest tier."))
    else:
        target = _tier_name(progress.next_tier)
        if progress.upgrade_on is not None:
            lines.append(
                _("You qualify for %(tier)s: it is yours from %(day)s, after the nightly update.")
                % {"tier": target, "day": date_display(progress.upgrade_on)}
            )
        else:
            lines.append(
                _needs_sentence(
                    progress.spend_needed,
                    progress.purchases_needed,
                    progress.by_date,
                    target,
                    _=_,
                    ngettext=ngettext,
                    money=money_display,
                    day=date_display,
                )
            )
    if progress.keeps_for_good:
        lines.append(_("You keep %(tier)s for good.") % {"tier": _tier_name(progress.tier)})
    elif progress.keep_until is not None:
        name, until = _tier_name(progress.tier), date_display(progress.keep_until)
        lines.append(_("You keep %(tier)s until %(day)s.") % {"tier": name, "day": until})
        spend, count = progress.keep_spend_needed, progress.keep_purchases_needed
        values = {"tier": name, "day": until, "spend": money_display(spend), "count": count}
        if spend and count:
            lines.append(
                ngettext(
                    "To keep %(tier)s after %(day)s, spend %(spend)s more and make "
                    "%(count)s more purchase by then.",
                    "To keep %(tier)s after %(day)s, spend %(spend)s more and make "
                    "%(count)s more purchases by then.",
                    count,
                )
                % values
            )
        elif spend:
            lines.append(
                _("To keep %(tier)s after %(day)s, spend %(spend)s more by then.") % values
            )
        elif count:
            lines.append(
                ngettext(
                    "To keep %(tier)s after %(day)s, make %(count)s more purchase by then.",
                    "To keep %(tier)s after %(day)s, make %(count)s more purchases by then.",
                    count,
                )
                % values
            )
    return lines


def _needs_sentence(spend, count, by_date, tier, *, _, ngettext, money, day) -> str:
    values = {"spend": money(spend), "count": count, "day": day(by_date), "tier": tier}
    if spend and count:
        return (
            ngettext(
                "Spend %(spend)s more and make %(count)s more purchase by %(day)s to reach "
                "%(tier)s.",
                "Spend %(spend)s more and make %(count)s more purchases by %(day)s to reach "
                "%(tier)s.",
                count,
            )
            % values
        )
    if spend:
        return _("Spend %(spend)s more by %(day)s to reach %(tier)s.") % values
    if count:
        return (
            ngettext(
                "Make %(count)s more purchase by %(day)s to reach %(tier)s.",
                "Make %(count)s more purchases by %(day)s to reach %(tier)s.",
                count,
            )
            % values
        )
    return _("Make a purchase by %(day)s to reach %(tier)s.") % values
