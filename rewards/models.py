"""Rewards: the catalogue members spend points on, the vouchers they get, and the pools of
partner codes some vouchers hand out.

Invariants held by constraints: a reward never issues more than its stock
(``stock_issued <= stock_total``); a voucher code is unique; a voucher is used on exactly
one purchase while ``used`` and on none otherwise; a cancelled voucher says when; a partner
code goes to at most one voucher. Vouchers and stock change only through
``rewards.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.localised import LocalisedTextMixin
from rewards.codes import voucher_code_display

MONEY = {"max_digits": 16, "decimal_places": 2}


class Kind(models.TextChoices):
    AMOUNT = "amount", _("Fixed-amount discount")
    PERCENT = "percent", _("Percentage discount")
    PRODUCT = "product", _("Free product or gift")
    DELIVERY = "delivery", _("Free delivery")
    PARTNER = "partner", _("Partner voucher")


def _discount_constraints(prefix: str) -> list[models.CheckConstraint]:
    """The shape of a discount, the same on a reward and on the vouchers it issues: a fixed
    amount has an amount; a percentage has a percent (0-100] and maybe a cap; a gift or
    delivery may carry its value (taken off the bill at the till); a partner voucher has
    no discount at our tills."""
    return [
        models.CheckConstraint(condition=Q(kind__in=Kind.values), name=f"{prefix}_kind_valid"),
        models.CheckConstraint(
            condition=Q(kind="amount", discount_amount__gt=0, discount_percent__isnull=True)
            | Q(
                kind="percent",
                discount_percent__gt=0,
                discount_percent__lte=100,
                discount_amount__isnull=True,
            )
            | (
                Q(kind__in=["product", "delivery"], discount_percent__isnull=True)
                & (Q(discount_amount__isnull=True) | Q(discount_amount__gt=0))
            )
            | Q(kind="partner", discount_amount__isnull=True, discount_percent__isnull=True),
            name=f"{prefix}_discount_shape",
            violation_error_message=_(
                "A fixed-amount discount needs an amount; a percentage needs a percent between "
                "0 and 100 (and no amount); a partner voucher has neither."
            ),
        ),
        models.CheckConstraint(
            condition=Q(discount_cap__isnull=True) | Q(kind="percent", discount_cap__gt=0),
            name=f"{prefix}_cap_for_percent",
            violation_error_message=_("Only a percentage discount has a cap, above zero."),
        ),
        models.CheckConstraint(condition=Q(min_spend__gte=0), name=f"{prefix}_min_spend_nonneg"),
    ]


class Reward(LocalisedTextMixin, models.Model):
    """Something in the catalogue. Managed by programme admins and marketers; the stock
    counter (``stock_issued``) moves only through the services, under a row lock."""

    Kind = Kind

    code = models.SlugField(
        _("code"),
        max_length=48,
        unique=True,
        help_text=_("Short stable identifier, e.g. giam-50k."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    description = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    terms = models.TextField(_("terms (Vietnamese)"), blank=True)
    terms_en = models.TextField(_("terms (English)"), blank=True)
    image = models.FileField(
        _("image"),
        upload_to="rewards/",
        blank=True,
        validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp"])],
    )
    partner_name = models.CharField(
        _("partner"), max_length=120, blank=True, help_text=_("For partner vouchers.")
    )
    points_cost = models.PositiveIntegerField(
        _("points cost"), help_text=_("Tier prices below may lower it for higher tiers.")
    )
    min_tier = models.ForeignKey(
        "tiers.Tier",
        verbose_name=_("lowest tier allowed"),
        on_delete=models.PROTECT,
        null=True,
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
    stock_total = models.PositiveIntegerField(
        _("total stock"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    stock_issued = models.PositiveIntegerField(
        _("issued"),
        default=0,
        editable=False,
        help_text=_("Vouchers issued and not cancelled."),
    )
    limit_per_member = models.PositiveIntegerField(
        _("limit per member"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    limit_per_member_month = models.PositiveIntegerField(
        _("limit per member per month"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    available_from = models.DateField(_("available from"), null=True, blank=True)
    available_until = models.DateField(_("available until"), null=True, blank=True)
    voucher_valid_days = models.PositiveSmallIntegerField(
        _("voucher valid for (days)"),
        default=30,
        help_text=_("Counting the day it is issued."),
    )
    cancel_grace_hours = models.PositiveSmallIntegerField(
        _("members may cancel within (hours)"),
        default=24,
        help_text=_("An unused voucher cancelled in this time gives the points back. 0: never."),
    )
    discount_amount = models.DecimalField(
        _("discount amount"),
        null=True,
        blank=True,
        help_text=_("Fixed discount; for a gift or delivery, its value taken off the bill."),
        **MONEY,
    )
    discount_percent = models.DecimalField(
        _("discount percent"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    discount_cap = models.DecimalField(
        _("discount cap"),
        null=True,
        blank=True,
        help_text=_("Most a percentage discount takes off."),
        **MONEY,
    )
    min_spend = models.DecimalField(
        _("minimum spend"), default=0, help_text=_("Bill total needed to use it."), **MONEY
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points_cost", "id"]
        constraints = [
            *_discount_constraints("reward"),
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_pos"),
            models.CheckConstraint(
                condition=Q(stock_total__isnull=True) | Q(stock_issued__lte=F("stock_total")),
                name="reward_stock_not_oversold",
                violation_error_message=_("The total stock cannot be below what was issued."),
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gte=F("available_from")),
                name="reward_dates_ordered",
                violation_error_message=_("The end date is before the start date."),
            ),
            models.CheckConstraint(
                condition=Q(voucher_valid_days__gte=1), name="reward_valid_days_min"
            ),
            models.CheckConstraint(
                condition=(Q(limit_per_member__isnull=True) | Q(limit_per_member__gte=1))
                & (Q(limit_per_member_month__isnull=True) | Q(limit_per_member_month__gte=1)),
                name="reward_limits_pos",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def terms_local(self) -> str:
        return self.localised("terms")


class RewardTierPrice(models.Model):
    """A lower points cost for members of a tier (and of the tiers above it)."""

    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), on_delete=models.CASCADE, related_name="tier_prices"
    )
    tier = models.ForeignKey(
        "tiers.Tier", verbose_name=_("tier"), on_delete=models.PROTECT, related_name="+"
    )
    points_cost = models.PositiveIntegerField(_("points cost"))

    class Meta:
        verbose_name = _("tier price")
        verbose_name_plural = _("tier prices")
        constraints = [
            models.UniqueConstraint(fields=["reward", "tier"], name="reward_tier_price_unique"),
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_tier_cost_pos"),
        ]

    def __str__(self):
        return f"{self.reward_id}/{self.tier_id}: {self.points_cost}"


class Voucher(models.Model):
    """A reward issued to a member, with a code the till checks. The discount is copied from
    the reward when issued, so editing the reward later never changes a voucher."""

    Kind = Kind

    class Status(models.TextChoices):
        ISSUED = "issued", _("Ready to use")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        REDEEMED = "redeemed", _("Redeemed with points")
        GOODWILL = "goodwill", _("Goodwill gesture")
        CAMPAIGN = "campaign", _("Campaign")

    code = models.CharField(_("code"), max_length=11, unique=True, editable=False)
    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="vouchers"
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="vouchers",
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    discount_amount = models.DecimalField(_("discount amount"), null=True, blank=True, **MONEY)
    discount_percent = models.DecimalField(
        _("discount percent"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    discount_cap = models.DecimalField(_("discount cap"), null=True, blank=True, **MONEY)
    min_spend = models.DecimalField(_("minimum spend"), default=0, **MONEY)
    partner_code = models.CharField(_("partner code"), max_length=64, blank=True)
    points_spent = models.PositiveIntegerField(_("points spent"), default=0)
    spend_entry = models.ForeignKey(
        "members.PointEntry",
        verbose_name=_("paid by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    refund_entry = models.ForeignKey(
        "members.PointEntry",
        verbose_name=_("refunded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), help_text=_("The last day it can be used."))
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    cancellable_until = models.DateTimeField(
        _("member may cancel until"),
        null=True,
        blank=True,
        help_text=_("Empty: cannot be cancelled by the member."),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_at_store = models.ForeignKey(
        "members.Store",
        verbose_name=_("issued at store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    reference = models.CharField(
        _("reference"),
        max_length=64,
        blank=True,
        help_text=_("The caller's own id of the redemption (the POS's external id)."),
    )
    reason = models.TextField(_("reason"), blank=True)
    used_on = models.ForeignKey(
        "members.Purchase",
        verbose_name=_("used on"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vouchers_used",
        db_index=False,
    )
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    discount_applied = models.DecimalField(_("discount given"), null=True, blank=True, **MONEY)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    restored_at = models.DateTimeField(
        _("given back at"),
        null=True,
        blank=True,
        help_text=_("Given back to the member when the purchase it paid for was returned."),
    )
    restored_from = models.ForeignKey(
        "members.Purchase",
        verbose_name=_("given back from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-issued_at", "-id"]
        permissions = [
            ("issue_goodwill_voucher", _("Can issue goodwill vouchers with a reason")),
        ]
        constraints = [
            *_discount_constraints("voucher"),
            models.CheckConstraint(
                condition=Q(status__in=["issued", "used", "expired", "cancelled"]),
                name="voucher_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(source__in=["redeemed", "goodwill", "campaign"]),
                name="voucher_source_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="used", used_on__isnull=False, used_at__isnull=False)
                | (~Q(status="used") & Q(used_on__isnull=True, used_at__isnull=True)),
                name="voucher_used_on_a_purchase",
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="voucher_cancelled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="voucher_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(source="redeemed", points_spent__gt=0)
                | (~Q(source="redeemed") & Q(points_spent=0)),
                name="voucher_points_only_when_redeemed",
            ),
            models.CheckConstraint(
                condition=~Q(source="goodwill") | ~Q(reason=""),
                name="voucher_goodwill_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(discount_applied__isnull=True) | Q(discount_applied__gte=0),
                name="voucher_discount_applied_nonneg",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "reward", "issued_at"], name="voucher_member_reward"),
            models.Index(
                fields=["valid_until"], condition=Q(status="issued"), name="voucher_issued_until"
            ),
            models.Index(
                fields=["used_on"], condition=Q(used_on__isnull=False), name="voucher_used_on"
            ),
        ]

    def __str__(self):
        return self.code_display

    @property
    def code_display(self) -> str:
        return voucher_code_display(self.code)

    def can_be_cancelled(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == self.Status.ISSUED
            and self.cancellable_until is not None
            and now <= self.cancellable_until
            and timezone.localdate(now) <= self.valid_until
        )


class PartnerCode(models.Model):
    """A code imported from a partner (CSV), handed out once with a partner voucher."""

    reward = models.ForeignKey(
        Reward,
        verbose_name=_("reward"),
        on_delete=models.PROTECT,
        related_name="partner_codes",
        db_index=False,
    )
    code = models.CharField(_("code"), max_length=64)
    voucher = models.OneToOneField(
        Voucher,
        verbose_name=_("voucher"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partner_code_row",
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    assigned_at = models.DateTimeField(_("handed out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner code")
        verbose_name_plural = _("partner codes")
        constraints = [
            models.UniqueConstraint(fields=["reward", "code"], name="partner_code_unique"),
            models.CheckConstraint(
                condition=Q(voucher__isnull=True, assigned_at__isnull=True)
                | Q(voucher__isnull=False, assigned_at__isnull=False),
                name="partner_code_assigned_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["reward", "id"], condition=Q(voucher__isnull=True), name="partner_code_free"
            ),
        ]

    def __str__(self):
        return self.code
