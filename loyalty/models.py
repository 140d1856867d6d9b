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


class JobLease(models.Model):
    """Who runs a scheduled job now, until when (``loyalty.single_run``): a second beat, a
    redelivered task or a cron run finds the lease held and skips. A holder renews it while
    it works; one that was killed stops holding it when it expires."""

    name = models.CharField(_("job"), max_length=100, primary_key=True)
    holder = models.CharField(_("holder"), max_length=200, blank=True)
    acquired_at = models.DateTimeField(_("acquired at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("job lease")
        verbose_name_plural = _("job leases")

    def __str__(self):
        return self.name
