"""Daily facts: the programme's figures per local day (and per month, rolled up from the
days), so the overview reads a few hundred rows instead of scanning purchases.

Summable figures are plain columns. Distinct counts (active members, repeat buyers, join
cohorts) cannot be summed from daily counts, so each cell also keeps the member ids as a
serialized Roaring bitmap (``pyroaring``): the overview ORs them for the period it shows.

Cells are keyed by ``(grain, period, store[, tier])``; ``period`` is the local day
(Asia/Ho_Chi_Minh) for ``grain="day"`` and the first day of the month for ``"month"``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 20, "decimal_places": 2}


class Grain(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month")


GRAIN_VALID = Q(grain__in=["day", "month"])


class SalesFact(models.Model):
    """Purchases of one local day (or month) at one store by members of one tier (the
    member's tier when the cell was built; ``tier`` NULL: no tier)."""

    grain = models.CharField(_("grain"), max_length=5, choices=Grain.choices)
    period = models.DateField(_("period"))
    store = models.ForeignKey(
        "members.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    tier = models.ForeignKey(
        "tiers.Tier",
        verbose_name=_("tier"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    purchases = models.BigIntegerField(_("purchases"), default=0)
    revenue = models.DecimalField(_("total amount"), default=0, **MONEY)
    returns = models.DecimalField(_("returned on these purchases"), default=0, **MONEY)
    active = models.BinaryField(_("members with a purchase (bitmap)"), default=b"")
    repeat = models.BinaryField(_("members with two or more purchases (bitmap)"), default=b"")
    members_active = models.BigIntegerField(_("members with a purchase"), default=0)
    built_at = models.DateTimeField(_("built at"), default=timezone.now)

    class Meta:
        verbose_name = _("sales fact")
        verbose_name_plural = _("sales facts")
        permissions = [("view_overview", _("Can view the programme overview"))]
        constraints = [
            models.CheckConstraint(condition=GRAIN_VALID, name="salesfact_grain_valid"),
            models.CheckConstraint(
                condition=Q(purchases__gte=0)
                & Q(revenue__gte=0)
                & Q(returns__gte=0)
                & Q(returns__lte=models.F("revenue"))
                & Q(members_active__gte=0)
                & Q(members_active__lte=models.F("purchases")),
                name="salesfact_figures_range",
            ),
            models.UniqueConstraint(
                fields=["grain", "period", "store", "tier"],
                condition=Q(tier__isnull=False),
                name="salesfact_cell_unique",
            ),
            models.UniqueConstraint(
                fields=["grain", "period", "store"],
                condition=Q(tier__isnull=True),
                name="salesfact_cell_notier_unique",
            ),
        ]
        indexes = [models.Index(fields=["grain", "period"], name="salesfact_period")]

    def __str__(self):
        return f"{self.grain} {self.period} {self.store_id}/{self.tier_id}"


class MemberFact(models.Model):
    """Members who joined on one local day (or month), by the store they enrolled at
    (``store`` NULL: enrolled online or without a store)."""

    grain = models.CharField(_("grain"), max_length=5, choices=Grain.choices)
    period = models.DateField(_("period"))
    store = models.ForeignKey(
        "members.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    members_new = models.BigIntegerField(_("members who joined"), default=0)
    joined = models.BinaryField(_("members who joined (bitmap)"), default=b"")
    built_at = models.DateTimeField(_("built at"), default=timezone.now)

    class Meta:
        verbose_name = _("member fact")
        verbose_name_plural = _("member facts")
        constraints = [
            models.CheckConstraint(condition=GRAIN_VALID, name="memberfact_grain_valid"),
            models.CheckConstraint(condition=Q(members_new__gte=0), name="memberfact_new_nonneg"),
            models.UniqueConstraint(
                fields=["grain", "period", "store"],
                condition=Q(store__isnull=False),
                name="memberfact_cell_unique",
            ),
            models.UniqueConstraint(
                fields=["grain", "period"],
                condition=Q(store__isnull=True),
                name="memberfact_cell_nostore_unique",
            ),
        ]
        indexes = [models.Index(fields=["grain", "period"], name="memberfact_period")]

    def __str__(self):
        return f"{self.grain} {self.period} {self.store_id}"


class PointsFact(models.Model):
    """Point movements recorded on one local day (or month), by the store of the entry's
    purchase (``store`` NULL: no purchase, e.g. expiry, bonuses, staff adjustments).

    ``issued`` = earned + bonus; ``redeemed`` = spent minus given back by returns;
    ``expired``, ``reversed`` (taken back by returns) as positive numbers; ``adjusted`` the
    staff adjustments' net; ``net`` the change of available + pending, so the sum of ``net``
    over every day is the points outstanding."""

    grain = models.CharField(_("grain"), max_length=5, choices=Grain.choices)
    period = models.DateField(_("period"))
    store = models.ForeignKey(
        "members.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    issued = models.BigIntegerField(_("points issued"), default=0)
    redeemed = models.BigIntegerField(_("points redeemed"), default=0)
    expired = models.BigIntegerField(_("points expired"), default=0)
    reversed = models.BigIntegerField(_("points reversed"), default=0)
    adjusted = models.BigIntegerField(_("points adjusted"), default=0)
    net = models.BigIntegerField(_("net change"), default=0)
    built_at = models.DateTimeField(_("built at"), default=timezone.now)

    class Meta:
        verbose_name = _("points fact")
        verbose_name_plural = _("points facts")
        constraints = [
            models.CheckConstraint(condition=GRAIN_VALID, name="pointsfact_grain_valid"),
            models.CheckConstraint(
                condition=Q(issued__gte=0) & Q(expired__gte=0) & Q(reversed__gte=0),
                name="pointsfact_figures_nonneg",
            ),
            models.UniqueConstraint(
                fields=["grain", "period", "store"],
                condition=Q(store__isnull=False),
                name="pointsfact_cell_unique",
            ),
            models.UniqueConstraint(
                fields=["grain", "period"],
                condition=Q(store__isnull=True),
                name="pointsfact_cell_nostore_unique",
            ),
        ]
        indexes = [models.Index(fields=["grain", "period"], name="pointsfact_period")]

    def __str__(self):
        return f"{self.grain} {self.period} {self.store_id}"


class BuiltDay(models.Model):
    """A local day whose facts are built (the nightly job builds the days missing here)."""

    day = models.DateField(_("day"), primary_key=True)
    built_at = models.DateTimeField(_("built at"), default=timezone.now)

    class Meta:
        verbose_name = _("built day")
        verbose_name_plural = _("built days")

    def __str__(self):
        return str(self.day)


class DirtyDay(models.Model):
    """A closed day a later write changed (a return of its purchase, an import): the next
    build re-builds it. Written with INSERT ... ON CONFLICT DO NOTHING, never updated."""

    day = models.DateField(_("day"), primary_key=True)
    marked_at = models.DateTimeField(_("marked at"), default=timezone.now)

    class Meta:
        verbose_name = _("day to rebuild")
        verbose_name_plural = _("days to rebuild")

    def __str__(self):
        return str(self.day)


class FactsState(models.Model):
    """One row: bumped by every build, so cached overview figures of older facts expire."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    version = models.BigIntegerField(_("version"), default=0)
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)

    class Meta:
        verbose_name = _("facts state")
        verbose_name_plural = _("facts state")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="factsstate_singleton")]

    def __str__(self):
        return f"v{self.version}"
