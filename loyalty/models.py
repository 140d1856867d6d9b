"""The platform's own bookkeeping (the domain's tables live in the apps)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NightlyRun(models.Model):
    """A day whose nightly jobs all succeeded (``loyalty.tasks.run_daily_jobs``), and when:
    what ``/healthz`` reads to tell that the scheduler and workers still do their nightly
    work (``loyalty.health.NightlyJob``)."""

    day = models.DateField(_("day"), unique=True)
    finished_at = models.DateTimeField(_("finished at"), db_index=True)

    class Meta:
        verbose_name = _("nightly run")
        verbose_name_plural = _("nightly runs")

    def __str__(self):
        return f"{self.day}"
