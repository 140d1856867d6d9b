"""Writes about tiers: the nightly recalculation of every member's tier, the upgrade a
purchase causes at once (and its undoing by a return), and staff setting a tier by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import AuditEntry, Member, Purchase, User
from members.selectors import program_get
from members.services.points import end_of_month_after
from tiers import services_sql
from tiers.models import MemberTier, Tier, TierChange
from tiers.selectors import (
    member_qualifying_figures,
    tier_from_id,
    tier_policy_get,
    tier_qualified,
)


def tier_thresholds() -> list[services_sql.Threshold]:
    """The tier table as the SQL reads it, entry tier first (read fresh, not cached)."""
    return [
        services_sql.Threshold(t.pk, t.rank, t.min_spend, t.min_purchases)
        for t in Tier.objects.order_by("rank")
    ]


def tier_retained_until(since: date, *, window_months: int) -> date:
    """A tier reached on ``since`` is kept at least until the last day of the month
    ``window_months`` months later."""
    return end_of_month_after(since, window_months)


def tiers_recalculate(*, today: date) -> dict[str, int]:
    """Recompute every member's tier for ``today`` (the nightly job, set-based).

    The job of day D runs early on D (``run_daily_jobs`` passes the programme's local date of
    the run). Per member, over the job's window (``services_sql.tier_job_window``: purchases
    made from the whole local day D minus ``tier_window_months`` up to the end of D-1; those of
    D itself count from the job of D + 1, and at the till at once): net qualifying spend
    (total minus returned) and the number of purchases not fully returned give the qualified
    tier, the highest whose two minimums are both met (the entry tier otherwise). Then:

    - no tier yet: the qualified tier (``initial``);
    - qualified higher: upgrade (a lock never holds a member back);
    - locked by staff (``today < locked_until``): not downgraded;
    - qualified lower: kept while ``today <= retained_until``; after it, per ``TierPolicy``:
      ``none`` keeps it, ``one_level`` goes down one tier, ``to_qualified`` to the qualified
      tier.

    Any change sets ``since`` to today and ``retained_until`` to the end of the window after
    it, and is recorded in ``TierChange`` in the same transaction. Running it again the same
    day changes nothing. Returns the counts: examined, initial, upgraded, downgraded,
    unchanged.
    """
    program = program_get()
    window = program.tier_window_months
    start, end = services_sql.tier_job_window(today, window)
    return services_sql.recalculate(
        thresholds=tier_thresholds(),
        policy=tier_policy_get().downgrade_policy,
        today=today,
        retained_until=tier_retained_until(today, window_months=window),
        start=start,
        end=end,
        now=timezone.now(),
    )


@transaction.atomic
def tier_set_manually(
    *,
    member: Member,
    tier: Tier,
    reason: str,
    acting_user: User,
    locked_until: date | None = None,
    today: date | None = None,
) -> MemberTier:
    """Staff set a member's tier by hand, with a reason, optionally locked against
    downgrades until a date. Recorded in the tier history and the audit trail."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the tier is set by hand.")]})
    if not acting_user.has_perm("tiers.change_membertier"):
        raise DomainError("permission_denied", _("You may not change members' tiers."))
    today = today or timezone.localdate()
    if locked_until is not None and locked_until <= today:
        raise ValidationError({"locked_until": [_("A lock ends on a day after today.")]})
    window = program_get().tier_window_months
    current = MemberTier.objects.select_for_update().filter(pk=member.pk).first()
    from_tier_id = current.tier_id if current else None
    values = {
        "tier": tier,
        "since": today,
        "retained_until": tier_retained_until(today, window_months=window),
        "locked_until": locked_until,
    }
    status, _created = MemberTier.objects.update_or_create(member=member, defaults=values)
    TierChange.objects.create(
        member=member,
        from_tier_id=from_tier_id,
        to_tier=tier,
        reason=TierChange.Reason.MANUAL,
        at=timezone.now(),
        actor=acting_user,
        note=reason,
    )
    AuditEntry.objects.create(
        actor=acting_user,
        action="tier.set_manually",
        member=member,
        reason=reason,
        data={
            "from": from_tier_id,
            "to": tier.pk,
            "locked_until": locked_until.isoformat() if locked_until else None,
        },
    )
    return status


@dataclass(frozen=True)
class TierMove:
    """A member's tier after a purchase or a return, and whether it just changed."""

    tier: Tier
    changed: bool


def tier_upgrade_for_purchase_locked(*, purchase: Purchase, today: date | None = None) -> TierMove:
    """The purchase that crosses a threshold moves its member up at once, in the purchase's
    transaction (the caller holds the member's point-account lock, which serialises the
    member's purchases, and has written ``purchase``): net spend and purchases over the live
    window (from the first day the nightly job of today counts up to the purchase itself:
    ``member_qualifying_figures``) give the qualified tier; a higher one than the
    member's is theirs from now, kept until the end of the window after today, with the
    purchase recorded as the cause (a return may undo it). Never moves anyone down."""
    today = today or timezone.localdate()
    current = MemberTier.objects.select_for_update().filter(pk=purchase.member_id).first()
    tier = tier_from_id(current.tier_id if current else None)
    spend, purchases = member_qualifying_figures(purchase.member_id, today=today)
    qualified = tier_qualified(spend, purchases)
    if qualified.rank <= tier.rank:
        return TierMove(tier, changed=False)
    window = program_get().tier_window_months
    retained_until = tier_retained_until(today, window_months=window)
    if current is None:
        MemberTier.objects.create(
            member_id=purchase.member_id,
            tier=qualified,
            since=today,
            retained_until=retained_until,
        )
    else:
        MemberTier.objects.filter(pk=current.pk).update(
            tier=qualified, since=today, retained_until=retained_until, updated_at=timezone.now()
        )
    TierChange.objects.create(
        member_id=purchase.member_id,
        from_tier=tier if current else None,
        to_tier=qualified,
        reason=TierChange.Reason.UPGRADE,
        at=timezone.now(),
        purchase=purchase,
        previous_since=current.since if current else None,
        previous_retained_until=current.retained_until if current else None,
    )
    return TierMove(qualified, changed=True)


def tier_undo_upgrade_for_return_locked(
    *, purchase: Purchase, today: date | None = None
) -> TierMove:
    """A return inside the return window (the programme's ``pending_days`` after the
    purchase's day) undoes the upgrade that the returned purchase caused, if the member no
    longer qualifies for the tier it gave them and nothing has changed their tier since:
    back to the tier still qualified for, never below the one they had, with the dates that
    tier had. Called in the return's transaction after ``returned_amount`` is updated."""
    today = today or timezone.localdate()
    current = MemberTier.objects.select_for_update().filter(pk=purchase.member_id).first()
    tier = tier_from_id(current.tier_id if current else None)
    unchanged = TierMove(tier, changed=False)
    upgrade = (
        TierChange.objects.filter(purchase=purchase, reason=TierChange.Reason.UPGRADE)
        .order_by("-id")
        .first()
    )
    if upgrade is None or current is None or current.tier_id != upgrade.to_tier_id:
        return unchanged
    window_end = timezone.localdate(purchase.occurred_at) + timedelta(
        days=program_get().pending_days
    )
    if today > window_end:
        return unchanged
    if TierChange.objects.filter(member_id=purchase.member_id, pk__gt=upgrade.pk).exists():
        return unchanged
    spend, purchases = member_qualifying_figures(purchase.member_id, today=today)
    qualified = tier_qualified(spend, purchases)
    if qualified.rank >= tier.rank:
        return unchanged
    before = tier_from_id(upgrade.from_tier_id)
    target = qualified if qualified.rank > before.rank else before
    if target == before and upgrade.previous_since is not None:
        since, retained_until = upgrade.previous_since, upgrade.previous_retained_until
    else:
        window = program_get().tier_window_months
        since, retained_until = today, tier_retained_until(today, window_months=window)
    MemberTier.objects.filter(pk=current.pk).update(
        tier=target, since=since, retained_until=retained_until, updated_at=timezone.now()
    )
    TierChange.objects.create(
        member_id=purchase.member_id,
        from_tier=tier,
        to_tier=target,
        reason=TierChange.Reason.RETURN,
        at=timezone.now(),
        purchase=purchase,
        previous_since=current.since,
        previous_retained_until=current.retained_until,
    )
    return TierMove(target, changed=True)
