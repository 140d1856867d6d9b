"""Writes about tiers: the nightly recalculation of every member's tier."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import AuditEntry, Member, User
from members.selectors import program_get
from members.services.points import end_of_month_after
from tiers import services_sql
from tiers.models import MemberTier, Tier, TierChange, TierPolicy


def tier_policy_get() -> TierPolicy:
    """The tier policy (one row, created by migration; its defaults if the row is gone,
    say after a ``flush``)."""
    return TierPolicy.objects.filter(pk=TierPolicy.SINGLETON_ID).first() or TierPolicy()


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

    Per member, over the programme's window (purchases on the local days after the same day
    ``tier_window_months`` months ago, up to today): net qualifying spend (total minus
    returned) and the number of purchases not fully returned give the qualified tier, the
    highest whose two minimums are both met (the entry tier otherwise). Then:

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
    start, end = services_sql.window_bounds(today, window)
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
