"""Tiers: Bronze, Silver, Gold, Diamond by default, configurable by a programme admin."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """A level of membership, reached by net qualifying spend and a number of purchases over
    the programme's rolling window; it multiplies earning. The entry tier has the lowest rank.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("name in English"), max_length=64, blank=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#8c6239")
    benefits = models.TextField(_("benefits"), blank=True)
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

    def __str__(self):
        return self.name
