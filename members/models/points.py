"""The point ledger: an account per member with cached balances, append-only entries, and
lots (one per credit) that make FIFO spending and expiry exact.

Invariants (held by constraints where a database can, by ``members.services.points`` and
checked by ``verify_ledger``):

- ``account.available == sum(entry.available_delta)`` and ``account.pending ==
  sum(entry.pending_delta)``;
- ``account.pending == sum(remaining of pending lots)``;
- ``account.available == sum(remaining of available lots)`` when it is not negative, and
  when it is (a debt left by a return of points already spent) every available lot is empty;
- ``0 <= lot.remaining <= lot.points``; each idempotency key maps to one entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models.people import Member
from members.models.purchases import Purchase, PurchaseReturn


class PointAccount(models.Model):
    member = models.OneToOneField(
        Member,
        verbose_name=_("member"),
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="account",
    )
    available = models.BigIntegerField(
        _("available points"),
        default=0,
        help_text=_("Negative only when a return took back points that were already spent."),
    )
    pending = models.BigIntegerField(_("pending points"), default=0)
    lifetime_earned = models.BigIntegerField(_("points earned, lifetime"), default=0)
    lifetime_spent = models.BigIntegerField(_("points spent, lifetime"), default=0)
    lifetime_expired = models.BigIntegerField(_("points expired, lifetime"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("point account")
        verbose_name_plural = _("point accounts")
        constraints = [
            models.CheckConstraint(condition=Q(pending__gte=0), name="account_pending_nonneg"),
            models.CheckConstraint(
                condition=Q(lifetime_earned__gte=0)
                & Q(lifetime_spent__gte=0)
                & Q(lifetime_expired__gte=0),
                name="account_lifetime_nonneg",
            ),
        ]

    def __str__(self):
        return f"{self.member_id}: {self.available} (+{self.pending} pending)"


class PointLot(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        AVAILABLE = "available", _("Available")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="point_lots",
        db_index=False,
    )
    purchase = models.ForeignKey(
        Purchase,
        verbose_name=_("purchase"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_lots",
    )
    points = models.BigIntegerField(_("points"))
    remaining = models.BigIntegerField(_("remaining"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    earned_on = models.DateField(_("earned on"))
    matures_on = models.DateField(_("available from"), null=True, blank=True)
    expires_on = models.DateField(_("expires after"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("point lot")
        verbose_name_plural = _("point lots")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_pos"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("points")),
                name="lot_remaining_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "available", "expired", "cancelled"]),
                name="lot_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["expired", "cancelled"]) | Q(remaining=0),
                name="lot_closed_is_empty",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status", "expires_on"]),
            models.Index(
                fields=["matures_on"], condition=Q(status="pending"), name="lot_pending_due"
            ),
            models.Index(
                fields=["expires_on"],
                condition=Q(status="available"),
                name="lot_available_expiry",
            ),
        ]

    def __str__(self):
        return f"lot {self.pk}: {self.remaining}/{self.points} {self.status}"


class PointEntry(models.Model):
    """One movement of points. Never updated or deleted: a correction is a new entry."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned on a purchase")
        BONUS = "bonus", _("Bonus")
        MATURE = "mature", _("Became available")
        SPEND = "spend", _("Spent")
        REVERSE = "reverse", _("Reversed by a return")
        REFUND = "refund", _("Given back by a return")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted by staff")

    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="point_entries",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    available_delta = models.BigIntegerField(_("available change"), default=0)
    pending_delta = models.BigIntegerField(_("pending change"), default=0)
    purchase = models.ForeignKey(
        Purchase,
        verbose_name=_("purchase"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_entries",
        db_index=False,
    )
    purchase_return = models.ForeignKey(
        PurchaseReturn,
        verbose_name=_("return"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_entries",
        db_index=False,
    )
    lot = models.ForeignKey(
        PointLot,
        verbose_name=_("lot"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        help_text=_("The lot this entry created, matured or expired."),
        db_index=False,
    )
    idempotency_key = models.CharField(  # noqa: DJ001 - NULL: no key; unique when set
        _("idempotency key"),
        max_length=120,
        null=True,
        blank=True,
        help_text=_("Set by jobs and campaigns: the same key never credits twice."),
    )
    lots_expire_on = models.DateField(
        _("spent lots expired after"),
        null=True,
        blank=True,
        help_text=_("For a spend: the earliest expiry among the lots it used."),
    )
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        help_text=_("For a staff correction: the adjustment it undoes."),
        db_index=False,
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("point entry")
        verbose_name_plural = _("point entries")
        ordering = ["-created_at", "-id"]
        # Foreign keys carry no index of their own: every insert maintains each index, and
        # this table takes one to three rows per purchase. The lookups that exist get a
        # composite or a partial index instead.
        indexes = [
            models.Index(fields=["member", "created_at"]),
            models.Index(
                fields=["purchase"],
                condition=Q(purchase__isnull=False),
                name="entry_purchase",
            ),
            models.Index(
                fields=["purchase_return"],
                condition=Q(purchase_return__isnull=False),
                name="entry_purchase_return",
            ),
            models.Index(
                fields=["reverses"], condition=Q(reverses__isnull=False), name="entry_reverses"
            ),
            models.Index(fields=["lot"], condition=Q(kind="expire"), name="entry_lot_expired"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(available_delta=0) | ~Q(pending_delta=0), name="entry_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(kind="earn", available_delta__gte=0, pending_delta__gte=0)
                | Q(kind__in=["bonus", "refund"], available_delta__gt=0, pending_delta=0)
                | Q(kind="mature", pending_delta__lt=0, available_delta=-F("pending_delta"))
                | Q(kind__in=["spend", "expire"], available_delta__lt=0, pending_delta=0)
                | Q(kind="reverse", available_delta__lte=0, pending_delta__lte=0)
                | Q(kind="adjust", pending_delta=0),
                name="entry_kind_signs",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjust") | ~Q(reason=""), name="entry_adjust_has_reason"
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="entry_idempotency_key_unique",
            ),
            # A purchase earns once and pays with points once: a retry cannot double either.
            models.UniqueConstraint(
                fields=["purchase"], condition=Q(kind="earn"), name="entry_one_earn_per_purchase"
            ),
            models.UniqueConstraint(
                fields=["purchase"],
                condition=Q(kind="spend"),
                name="entry_one_spend_per_purchase",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.available_delta:+}/{self.pending_delta:+} for {self.member_id}"
