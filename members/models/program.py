"""The programme's rules and its stores."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.localised import LocalisedTextMixin
from members.brand import DEFAULT_COLOUR, validate_brand_colour
from members.provinces import PROVINCE_CHOICES


class Program(LocalisedTextMixin, models.Model):
    """The loyalty programme's rules. One programme per deployment (row id 1).

    Created with its defaults by migration, so a fresh database is ready to use.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    name = models.CharField(_("name (Vietnamese)"), max_length=120, default="Loyalty")
    name_en = models.CharField(
        _("name (English)"),
        max_length=120,
        blank=True,
        help_text=_("Shown to members who read English. Empty: the Vietnamese name."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    earn_per_amount = models.DecimalField(
        _("earn: amount per step"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("10000"),
        help_text=_("Money paid that earns the points below (before multipliers)."),
    )
    earn_points = models.PositiveIntegerField(_("earn: points per step"), default=1)
    point_value = models.DecimalField(
        _("value of one point"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("100"),
        help_text=_("What one point pays, in currency, when redeemed at the till."),
    )
    pending_days = models.PositiveSmallIntegerField(_("return window (days)"), default=7)
    expiry_months = models.PositiveSmallIntegerField(_("points expire after (months)"), default=12)
    tier_window_months = models.PositiveSmallIntegerField(_("tier window (months)"), default=12)
    backdate_days = models.PositiveSmallIntegerField(
        _("offline purchases accepted for (days)"), default=30
    )
    max_purchase_total = models.DecimalField(
        _("largest purchase total accepted"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("1000000000"),
        help_text=_("A purchase above this total is refused at the till (a mistyped amount)."),
    )
    # The brand (members.brand): the header, the app's icon colour, the messages' buttons.
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        default=DEFAULT_COLOUR,
        validators=[validate_brand_colour],
        help_text=_("#rrggbb; dark enough for white text on it (contrast at least 4.5:1)."),
    )
    # A small PNG, JPEG or WebP, kept here (not in media files) and served by /brand/logo.
    logo = models.BinaryField(_("logo"), blank=True, default=b"", editable=False)
    logo_content_type = models.CharField(
        _("logo type"), max_length=16, blank=True, default="", editable=False
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programme")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="program_singleton"),
            models.CheckConstraint(
                condition=Q(earn_per_amount__gt=0), name="program_earn_amount_pos"
            ),
            models.CheckConstraint(condition=Q(point_value__gt=0), name="program_point_value_pos"),
            models.CheckConstraint(condition=Q(expiry_months__gte=1), name="program_expiry_min"),
            models.CheckConstraint(
                condition=Q(tier_window_months__gte=1), name="program_window_min"
            ),
            models.CheckConstraint(
                condition=Q(max_purchase_total__gt=0), name="program_max_total_pos"
            ),
        ]

    localised_fields = ("name",)

    def __str__(self):
        return self.name


class Store(models.Model):
    code = models.CharField(
        _("code"),
        max_length=32,
        unique=True,
        help_text=_("Short stable identifier used by the POS and the commands, e.g. HCM01."),
    )
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=255, blank=True)
    province = models.CharField(
        _("province/city"), max_length=32, choices=PROVINCE_CHOICES, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class EarnCategoryRule(models.Model):
    """A product category that earns at another rate: 0 excludes it (gift cards), 2 doubles."""

    category = models.CharField(
        _("category"),
        max_length=64,
        unique=True,
        help_text=_("As the POS sends it in items[].category; compared case-insensitively."),
    )
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("category earning rule")
        verbose_name_plural = _("category earning rules")
        ordering = ["category"]
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gte=0), name="category_mult_nonneg"),
        ]

    def __str__(self):
        return f"{self.category} x{self.multiplier}"
