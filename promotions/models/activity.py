"""Activity bonuses (points for a completed profile, a purchase review, the first portal
login) and the purchase reviews members write."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActivityBonus(models.Model):
    """Points for something a member does, paid once per its event: once per member for a
    completed profile and the first login, once per purchase for a review. One row per
    kind, created by migration; a programme admin changes the points or turns one off."""

    class Kind(models.TextChoices):
        PROFILE_COMPLETED = "profile_completed", _("Completed profile")
        PURCHASE_REVIEW = "purchase_review", _("Review of a purchase")
        FIRST_LOGIN = "first_login", _("First login to the portal")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, unique=True)
    points = models.PositiveIntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("activity bonus")
        verbose_name_plural = _("activity bonuses")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="activity_bonus_points_pos"),
            models.CheckConstraint(
                condition=Q(kind__in=["profile_completed", "purchase_review", "first_login"]),
                name="activity_bonus_kind_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.points}"


class PurchaseReview(models.Model):
    """A member's rating (and optional words) of one of their purchases; one per purchase."""

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    purchase = models.OneToOneField(
        "members.Purchase",
        verbose_name=_("purchase"),
        on_delete=models.PROTECT,
        related_name="review",
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    bonus_entry = models.OneToOneField(
        "members.PointEntry",
        verbose_name=_("bonus"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase review")
        verbose_name_plural = _("purchase reviews")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_range"
            ),
        ]
        indexes = [models.Index(fields=["member", "created_at"], name="review_member")]

    def __str__(self):
        return f"{self.purchase_id}: {self.rating}"
