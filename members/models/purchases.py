"""Purchases reported by the stores, and their returns."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models.people import Member
from members.models.program import Store

MONEY = {"max_digits": 16, "decimal_places": 2}


class Purchase(models.Model):
    """A purchase reported by a store's POS (or imported). Unique per store and receipt id.

    Money is what the POS reported (``total_amount``) and what the server computed from it
    (discounts, ``amount_due``); points are what the ledger recorded for it. Returns add up in
    ``returned_amount`` and the cumulative ``points_reversed``/``points_refunded``, so each
    partial return is computed from the totals and rounding never drifts.
    """

    class Source(models.TextChoices):
        POS = "pos", _("Point of sale")
        IMPORT = "import", _("Import")
        DEMO = "demo", _("Demo data")

    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="purchases",
        db_index=False,
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="purchases",
        db_index=False,
    )
    external_id = models.CharField(_("receipt id"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"))
    total_amount = models.DecimalField(_("total amount"), **MONEY)
    voucher_discount = models.DecimalField(_("voucher discount"), default=0, **MONEY)
    points_redeemed = models.BigIntegerField(_("points redeemed"), default=0)
    points_discount = models.DecimalField(_("points discount"), default=0, **MONEY)
    amount_due = models.DecimalField(
        _("paid in money"),
        help_text=_("Total minus voucher and points discounts: what earns points."),
        **MONEY,
    )
    points_earned = models.BigIntegerField(_("points earned"), default=0)
    items = models.JSONField(_("items"), default=list, blank=True)
    returned_amount = models.DecimalField(_("returned amount"), default=0, **MONEY)
    points_reversed = models.BigIntegerField(_("points reversed by returns"), default=0)
    points_refunded = models.BigIntegerField(_("points given back by returns"), default=0)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.POS)
    payment_fingerprint = models.CharField(
        _("payment card fingerprint"),
        max_length=64,
        blank=True,
        default="",
        db_default="",  # the set-based imports and benchmarks insert without it
        help_text=_(
            "An opaque token of the card that paid, as the POS's payment terminal gives it "
            "(never the card number): lets the referral checks see one card paying for two "
            "members."
        ),
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="purchase_store_receipt"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="purchase_total_nonneg"),
            models.CheckConstraint(
                condition=Q(amount_due__gte=0) & Q(amount_due__lte=F("total_amount")),
                name="purchase_amount_due_range",
            ),
            models.CheckConstraint(
                condition=Q(voucher_discount__gte=0)
                & Q(points_discount__gte=0)
                & Q(amount_due=F("total_amount") - F("voucher_discount") - F("points_discount")),
                name="purchase_discounts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(points_redeemed__gte=0) & Q(points_earned__gte=0),
                name="purchase_points_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(returned_amount__gte=0) & Q(returned_amount__lte=F("total_amount")),
                name="purchase_returns_within_total",
            ),
            models.CheckConstraint(
                condition=Q(points_reversed__gte=0)
                & Q(points_reversed__lte=F("points_earned"))
                & Q(points_refunded__gte=0)
                & Q(points_refunded__lte=F("points_redeemed")),
                name="purchase_return_points_range",
            ),
        ]
        indexes = [models.Index(fields=["member", "occurred_at"])]

    def __str__(self):
        return f"{self.store_id}/{self.external_id}"

    @property
    def is_fully_returned(self) -> bool:
        return self.returned_amount >= self.total_amount


class PurchaseReturn(models.Model):
    """Goods coming back on a purchase: by amount, or by items (priced from the purchase)."""

    purchase = models.ForeignKey(
        Purchase, verbose_name=_("purchase"), on_delete=models.PROTECT, related_name="returns"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    external_id = models.CharField(_("return id"), max_length=64)
    amount = models.DecimalField(_("amount"), **MONEY)
    items = models.JSONField(_("items"), default=list, blank=True)
    points_reversed = models.BigIntegerField(_("points reversed"), default=0)
    points_refunded = models.BigIntegerField(_("points given back"), default=0)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="return_store_id"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="return_amount_pos"),
            models.CheckConstraint(
                condition=Q(points_reversed__gte=0) & Q(points_refunded__gte=0),
                name="return_points_nonneg",
            ),
        ]

    def __str__(self):
        return f"{self.store_id}/{self.external_id}"
