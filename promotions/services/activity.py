"""Activity bonuses: points for a completed profile, a purchase review, the first portal
login; each paid once per its event through ``points_grant``'s idempotency key
(``activity:profile_completed:<member>``, ``activity:first_login:<member>``,
``activity:purchase_review:<purchase>``), so a repeat, a race or a second signal pays
nothing more. Blocked members get none; a bonus turned off pays nothing (and its event
is not remembered: turned on again, the next such event pays)."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import Member, PointEntry, Purchase, User
from members.selectors import program_cached
from members.services.points import points_grant
from promotions.models import ActivityBonus, PurchaseReview
from promotions.selectors import activity_bonus_points

Kind = ActivityBonus.Kind

# What a complete profile has, besides the name every member has.
PROFILE_COMPLETE_FIELDS = ("phone", "email", "birth_date", "gender", "province")
REVIEW_DAYS = 30


def profile_is_complete(member: Member) -> bool:
    return all(getattr(member, name) for name in PROFILE_COMPLETE_FIELDS)


def _grant(member: Member, kind: str, key: str, reason: str) -> PointEntry | None:
    points = activity_bonus_points(kind)
    if not points or member.is_blocked:
        return None
    return points_grant(
        member=member,
        points=points,
        idempotency_key=key,
        reason=reason,
        program=program_cached(),
        actor_label="activity",
    )


def activity_bonus_profile_completed(*, member: Member) -> PointEntry | None:
    """The completed-profile bonus, once per member, when phone, email, birth date, gender
    and province are all filled (at enrolment or on a profile change)."""
    if not profile_is_complete(member):
        return None
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Bonus: completed profile")
    return _grant(
        member, Kind.PROFILE_COMPLETED, f"activity:{Kind.PROFILE_COMPLETED}:{member.pk}", reason
    )


def activity_bonus_first_login(*, user: User) -> PointEntry | None:
    """The first-login bonus, once per member, on their first portal login (a staff login
    has no member and gets nothing)."""
    member = Member.objects.filter(user=user).only("pk", "status").first()
    if member is None:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Bonus: first login")
    return _grant(member, Kind.FIRST_LOGIN, f"activity:{Kind.FIRST_LOGIN}:{member.pk}", reason)


def purchase_review_submit(
    *,
    member: Member,
    purchase: Purchase,
    rating: int,
    comment: str = "",
    today: date | None = None,
) -> PurchaseReview:
    """The member reviews one of their purchases of the last 30 days that was not fully
    returned; the review bonus is paid with it, once per purchase. Raises ``not_found``
    (not their purchase), ``review_not_allowed`` (too old or returned), ``already_reviewed``,
    or ``ValidationError`` for a rating outside 1-5."""
    today = today or timezone.localdate()
    if purchase.member_id != member.pk:
        raise DomainError("not_found", _("No such purchase."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError({"rating": [_("Choose from 1 to 5 stars.")]})
    comment = (comment or "").strip()[:1000]
    if timezone.localdate(purchase.occurred_at) < today - timedelta(days=REVIEW_DAYS - 1):
        raise DomainError("review_not_allowed", _("Purchases can be reviewed for 30 days."))
    if purchase.returned_amount >= purchase.total_amount:
        raise DomainError("review_not_allowed", _("A returned purchase cannot be reviewed."))
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Bonus: purchase review")
    try:
        with transaction.atomic():
            review = PurchaseReview.objects.create(
                member=member, purchase=purchase, rating=rating, comment=comment
            )
            entry = _grant(
                member,
                Kind.PURCHASE_REVIEW,
                f"activity:{Kind.PURCHASE_REVIEW}:{purchase.pk}",
                reason,
            )
            if entry is not None:
                PurchaseReview.objects.filter(pk=review.pk).update(bonus_entry=entry)
                review.bonus_entry = entry
    except IntegrityError:
        if PurchaseReview.objects.filter(purchase=purchase).exists():
            raise DomainError(
                "already_reviewed", _("You have already reviewed this purchase.")
            ) from None
        raise
    return review
