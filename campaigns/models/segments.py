"""Segments: the nightly scores of every member (RFM and lifecycle stage) and the saved
segments staff define by rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MemberScore(models.Model):
    """Where a member stands, computed nightly for the whole membership at once
    (``campaigns.services.segments_compute``): RFM scores over the last 12 months and a
    lifecycle stage. Written by that job only; one row per member.

    Counted purchases are those not fully returned, their amount net of returns. R, F and M are
    1-5 by quintile among the members with a counted purchase in the last 12 months, and NULL
    (not scored) for the others: a member who never bought, or not for a year, is not "the
    lowest fifth" of the buyers, and a rule on scores never matches them.
    """

    class Lifecycle(models.TextChoices):
        POTENTIAL = "potential", _("Potential (never bought)")
        NEW = "new", _("New (first purchase in the last 30 days)")
        ACTIVE = "active", _("Active")
        VIP = "vip", _("VIP (top tier or top RFM)")
        AT_RISK = "at_risk", _("At risk (no purchase for 90 days)")
        LAPSED = "lapsed", _("Lapsed (no purchase for 180 days)")

    member = models.OneToOneField(
        "members.Member",
        verbose_name=_("member"),
        primary_key=True,
        # Derived data, recomputed every night: it never stands in the way of a member's row.
        on_delete=models.CASCADE,
        related_name="score",
    )
    recency = models.PositiveSmallIntegerField(
        _("recency score"),
        null=True,
        blank=True,
        help_text=_("1-5: 5 is the fifth of buyers who bought most recently."),
    )
    frequency = models.PositiveSmallIntegerField(
        _("frequency score"),
        null=True,
        blank=True,
        help_text=_("1-5: 5 is the fifth of buyers with the most purchases in 12 months."),
    )
    monetary = models.PositiveSmallIntegerField(
        _("monetary score"),
        null=True,
        blank=True,
        help_text=_("1-5: 5 is the fifth of buyers who spent the most in 12 months."),
    )
    lifecycle = models.CharField(_("lifecycle stage"), max_length=10, choices=Lifecycle.choices)
    lifecycle_since = models.DateField(
        _("in this stage since"), help_text=_("The day the nightly job first saw this stage.")
    )
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    purchases_12m = models.PositiveIntegerField(_("purchases in 12 months"), default=0)
    spend_12m = models.DecimalField(
        _("net spend in 12 months"), max_digits=16, decimal_places=2, default=0
    )
    computed_on = models.DateField(_("computed on"))

    class Meta:
        verbose_name = _("member score")
        verbose_name_plural = _("member scores")
        ordering = ["member_id"]
        indexes = [models.Index(fields=["lifecycle"], name="memberscore_lifecycle")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    lifecycle__in=["potential", "new", "active", "vip", "at_risk", "lapsed"]
                ),
                name="memberscore_lifecycle_valid",
            ),
            # Scored together or not at all, each 1-5.
            models.CheckConstraint(
                condition=Q(recency__isnull=True, frequency__isnull=True, monetary__isnull=True)
                | Q(
                    recency__gte=1,
                    recency__lte=5,
                    frequency__gte=1,
                    frequency__lte=5,
                    monetary__gte=1,
                    monetary__lte=5,
                ),
                name="memberscore_rfm_range",
            ),
            models.CheckConstraint(
                condition=~Q(lifecycle="potential") | Q(last_purchase_at__isnull=True),
                name="memberscore_potential_never_bought",
            ),
            models.CheckConstraint(
                condition=Q(purchases_12m__gte=0) & Q(spend_12m__gte=0),
                name="memberscore_totals_nonneg",
            ),
        ]

    def __str__(self):
        rfm = f"{self.recency}{self.frequency}{self.monetary}" if self.recency is not None else "-"
        return f"{self.member_id}: {self.lifecycle} RFM {rfm}"


def _empty_rules() -> dict:
    return {"op": "and", "rules": []}


class Segment(models.Model):
    """A saved set of members, defined by rules staff combine with AND/OR
    (``campaigns.segment_rules``). Compiled to one SQL query whenever it is used, so it is
    always current; its code is how campaigns and rewards refer to it, and never changes."""

    code = models.SlugField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_("Short stable identifier, e.g. vip-hanoi. Cannot be changed later."),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(
        _("rules"),
        default=_empty_rules,
        help_text=_(
            'A group {"op": "and" or "or", "rules": [...]} of rules such as '
            '{"field": "tier", "in": ["gold"]} and nested groups.'
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "code"]

    def __str__(self):
        return f"{self.name} ({self.code})"
