"""Tiers: Bronze, Silver, Gold, Diamond by default, configurable by a programme admin."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.localised import LocalisedTextMixin


class Tier(LocalisedTextMixin, models.Model):
    """A level of membership, reached by net qualifying spend and a number of purchases over
    the programme's rolling window; it multiplies earning. The entry tier has the lowest rank.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Vietnamese)"), max_length=64)
    name_en = models.CharField(
        _("name (English)"),
        max_length=64,
        blank=True,
        help_text=_("Shown to members who read English. Empty: the Vietnamese name."),
    )
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#8c6239")
    benefits = models.TextField(_("benefits (Vietnamese)"), blank=True)
    benefits_en = models.TextField(
        _("benefits (English)"),
        blank=True,
        help_text=_("Shown to members who read English. Empty: the Vietnamese text."),
    )
    multiplier = models.DecimalField(
        _("earning multiplier"), max_digits=4, decimal_places=2, default=Decimal("1.00")
    )
    min_spend = models.DecimalField(
        _("minimum net spend in the window"), max_digits=16, decimal_places=2, default=0
    )
    min_purchases = models.PositiveIntegerField(_("minimum purchases in the window"), default=0)
    birthday_points = models.PositiveIntegerField(_("birthday bonus points"), default=0)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="tier_multiplier_pos"),
            models.CheckConstraint(condition=Q(min_spend__gte=0), name="tier_min_spend_nonneg"),
        ]

    localised_fields = ("name", "benefits")

    def __str__(self):
        return self.name

    @property
    def benefits_local(self) -> str:
        return self.localised("benefits")


class MemberTier(models.Model):
    """A member's current tier. Written by ``tiers.services`` only (the nightly job, the
    purchase that crosses a threshold, a return undoing that, staff), each change recorded in
    ``TierChange``; the purchase flow's one-statement fast path writes the same rows in SQL
    (``pos.services.purchases_sql``)."""

    member = models.OneToOneField(
        "members.Member",
        verbose_name=_("member"),
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="tier_status",
    )
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="+", db_index=True
    )
    since = models.DateField(_("since"), help_text=_("The day the current tier was reached."))
    retained_until = models.DateField(
        _("kept until"),
        help_text=_("A tier reached is kept at least until the end of the window after it."),
    )
    locked_until = models.DateField(
        _("locked until"),
        null=True,
        blank=True,
        help_text=_("A tier set by staff: the nightly job does not downgrade it before this day."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("member tier")
        verbose_name_plural = _("member tiers")
        constraints = [
            models.CheckConstraint(
                condition=Q(retained_until__gte=models.F("since")),
                name="member_tier_retained_after_since",
            ),
        ]

    def __str__(self):
        return f"{self.member_id}: {self.tier_id}"


class TierChange(models.Model):
    """Append-only history of members' tiers: every change, why, when and who."""

    class Reason(models.TextChoices):
        INITIAL = "initial", _("Initial tier")
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade")
        MANUAL = "manual", _("Set by staff")
        RETURN = "return", _("Return")

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="tier_changes",
        db_index=False,
    )
    from_tier = models.ForeignKey(
        Tier,
        verbose_name=_("from tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_tier = models.ForeignKey(
        Tier, verbose_name=_("to tier"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    purchase = models.ForeignKey(
        "members.Purchase",
        verbose_name=_("purchase"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text=_("The purchase that caused an upgrade, or whose return undid one."),
    )
    previous_since = models.DateField(_("previous tier since"), null=True, blank=True)
    previous_retained_until = models.DateField(_("previous tier kept until"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier history")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["member", "at"], name="tierchange_member_at"),
            models.Index(
                fields=["purchase"],
                name="tierchange_purchase",
                condition=Q(purchase__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=["initial", "upgrade", "downgrade", "manual", "return"]),
                name="tierchange_reason_valid",
            ),
        ]

    def __str__(self):
        return f"{self.member_id} {self.from_tier_id} -> {self.to_tier_id} ({self.reason})"


class TierPolicy(models.Model):
    """How tiers move down (one row, id 1, created by migration)."""

    SINGLETON_ID = 1

    class Downgrade(models.TextChoices):
        NONE = "none", _("Never downgrade")
        ONE_LEVEL = "one_level", _("Down one tier at a time")
        TO_QUALIFIED = "to_qualified", _("Down to the tier still qualified for")

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    downgrade_policy = models.CharField(
        _("downgrade policy"),
        max_length=12,
        choices=Downgrade.choices,
        default=Downgrade.ONE_LEVEL,
        help_text=_("What happens when a member's tier is no longer kept and no longer met."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="tier_policy_singleton"),
            models.CheckConstraint(
                condition=Q(downgrade_policy__in=["none", "one_level", "to_qualified"]),
                name="tier_policy_downgrade_valid",
            ),
        ]

    def __str__(self):
        return str(self.get_downgrade_policy_display())
