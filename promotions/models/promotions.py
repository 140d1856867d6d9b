"""Time-boxed earning boosts (double points weekend, a bonus over an amount) and the points
each one gave on a purchase."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.localised import LocalisedTextMixin

MONEY = {"max_digits": 16, "decimal_places": 2}

# ISO weekdays, as ``datetime.isoweekday()`` numbers them and the API shows them.
WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


def _empty_list() -> list:
    return []


class Promotion(LocalisedTextMixin, models.Model):
    """An earning boost that runs from ``starts_at`` to ``ends_at``, on the listed days of
    the week and between the listed local hours (the programme's time zone), for the
    listed tiers, segment, stores, categories and SKUs (empty: no restriction).

    - ``multiplier``: the purchase (or the matching items' share of it) earns ``multiplier``
      times the points it earns without the promotion (tier multiplier included); the
      promotion adds the difference.
    - ``fixed_bonus``: ``bonus_points`` when the purchase (or the matching items' share of
      what was paid) reaches ``min_amount``.

    ``stacking`` says what happens when several apply to one purchase: every ``stacks``
    promotion adds its points; of the ``exclusive_best`` ones only the one giving the most
    counts (``promotions.services.promotions_for_purchase`` has the exact rules).
    """

    class Kind(models.TextChoices):
        MULTIPLIER = "multiplier", _("Points multiplier")
        FIXED_BONUS = "fixed_bonus", _("Fixed bonus over an amount")

    class Stacking(models.TextChoices):
        EXCLUSIVE_BEST = "exclusive_best", _("Highest wins (with other exclusive promotions)")
        STACKS = "stacks", _("Adds to other promotions")

    code = models.SlugField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_("Short stable identifier, e.g. double-weekend. Tills see it."),
    )
    name = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    description = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("For a multiplier: above 1, e.g. 2 for double points."),
    )
    bonus_points = models.PositiveIntegerField(
        _("bonus points"), null=True, blank=True, help_text=_("For a fixed bonus.")
    )
    min_amount = models.DecimalField(
        _("minimum amount"),
        default=0,
        help_text=_(
            "What the purchase (or the matching items' share of it) must reach, in money "
            "paid; 0: any amount."
        ),
        **MONEY,
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), help_text=_("The moment it stops (excluded)."))
    days_of_week = models.JSONField(
        _("days of the week"),
        default=_empty_list,
        blank=True,
        help_text=_("1 Monday … 7 Sunday, in the programme's time zone. Empty: every day."),
    )
    start_time = models.TimeField(
        _("from (local time)"), null=True, blank=True, help_text=_("Empty: from midnight.")
    )
    end_time = models.TimeField(
        _("until (local time)"),
        null=True,
        blank=True,
        help_text=_("Excluded. Empty: until midnight."),
    )
    tiers = models.ManyToManyField(
        "tiers.Tier",
        verbose_name=_("tiers"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every tier."),
    )
    segment = models.CharField(
        _("segment"),
        max_length=64,
        blank=True,
        help_text=_("Code of the segment it is restricted to. Empty: every member."),
    )
    stores = models.ManyToManyField(
        "members.Store",
        verbose_name=_("stores"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every store."),
    )
    categories = models.JSONField(
        _("categories"),
        default=_empty_list,
        blank=True,
        help_text=_("Item categories it applies to (case-insensitive). Empty: every item."),
    )
    skus = models.JSONField(
        _("SKUs"),
        default=_empty_list,
        blank=True,
        help_text=_("Item SKUs it applies to. Empty: every item."),
    )
    cap_points_per_member = models.PositiveIntegerField(
        _("cap per member (points)"),
        null=True,
        blank=True,
        help_text=_("Most points one member can get from this promotion. Empty: no cap."),
    )
    stacking = models.CharField(
        _("when several apply"),
        max_length=16,
        choices=Stacking.choices,
        default=Stacking.EXCLUSIVE_BEST,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="multiplier", multiplier__gt=1, bonus_points__isnull=True)
                | Q(kind="fixed_bonus", bonus_points__gt=0, multiplier__isnull=True),
                name="promotion_kind_shape",
                violation_error_message=_(
                    "A multiplier needs a multiplier above 1 (and no bonus points); a fixed "
                    "bonus needs bonus points (and no multiplier)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="promotion_dates_ordered",
                violation_error_message=_("The end is not after the start."),
            ),
            models.CheckConstraint(
                condition=Q(start_time__isnull=True)
                | Q(end_time__isnull=True)
                | Q(end_time__gt=F("start_time")),
                name="promotion_hours_ordered",
                violation_error_message=_(
                    "The hours must end after they start, within one day (make two "
                    "promotions for a window across midnight)."
                ),
            ),
            models.CheckConstraint(condition=Q(min_amount__gte=0), name="promotion_min_nonneg"),
            models.CheckConstraint(
                condition=Q(cap_points_per_member__isnull=True) | Q(cap_points_per_member__gte=1),
                name="promotion_cap_pos",
            ),
            models.CheckConstraint(
                condition=Q(stacking__in=["exclusive_best", "stacks"]),
                name="promotion_stacking_valid",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "ends_at"], name="promotion_active_end")]

    def __str__(self):
        return f"{self.code}: {self.name}"

    def clean(self):
        errors: dict[str, list] = {}
        if self.kind == self.Kind.MULTIPLIER:
            if self.multiplier is None or self.multiplier <= 1:
                errors["multiplier"] = [_("Enter a multiplier above 1, e.g. 2.")]
            if self.bonus_points is not None:
                errors["bonus_points"] = [_("A multiplier has no bonus points.")]
        elif self.kind == self.Kind.FIXED_BONUS:
            if not self.bonus_points:
                errors["bonus_points"] = [_("Enter the bonus points.")]
            if self.multiplier is not None:
                errors["multiplier"] = [_("A fixed bonus has no multiplier.")]
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = [_("The end is not after the start.")]
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = [
                _(
                    "The hours must end after they start, within one day (make two "
                    "promotions for a window across midnight)."
                )
            ]
        days = self.days_of_week or []
        if not isinstance(days, list) or any(d not in range(1, 8) for d in days):
            errors["days_of_week"] = [_("Days are numbers from 1 (Monday) to 7 (Sunday).")]
        for field in ("categories", "skus"):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                errors[field] = [_("A list of non-empty texts.")]
        if errors:
            raise ValidationError(errors)

    @property
    def has_item_restriction(self) -> bool:
        return bool(self.categories or self.skus)

    @property
    def days_display(self) -> list[str]:
        names = dict(WEEKDAYS)
        return [str(names[d]) for d in sorted(self.days_of_week or [])]

    @property
    def extra_multiplier(self) -> Decimal:
        return (self.multiplier or Decimal(1)) - 1


class PromotionAward(models.Model):
    """The points one promotion gave on one purchase (written in the purchase's transaction,
    under the member's point account lock, which is what makes the per-member caps hold)."""

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.PROTECT, related_name="awards"
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    purchase = models.ForeignKey(
        "members.Purchase",
        verbose_name=_("purchase"),
        on_delete=models.PROTECT,
        related_name="promotion_awards",
        db_index=False,
    )
    points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("promotion award")
        verbose_name_plural = _("promotion awards")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "purchase"], name="promotion_award_once_per_purchase"
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="promotion_award_points_pos"),
        ]
        indexes = [
            # The per-member cap: sum of one member's awards of one promotion.
            models.Index(fields=["member", "promotion"], name="promotion_award_member"),
            models.Index(fields=["purchase"], name="promotion_award_purchase"),
        ]

    def __str__(self):
        return f"{self.promotion_id}/{self.purchase_id}: {self.points}"
