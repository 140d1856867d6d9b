from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    """The programme's figures: daily facts kept up to date by the ledger and the nightly
    job, and the selectors the staff overview and its JSON read them through."""

    name = "insights"
    verbose_name = _("Figures")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from insights.services import facts_build_due
        from loyalty import daily

        # After the ledger's own jobs (maturing, expiry, tiers): the day's facts include them.
        daily.register("insights.facts", order=90)(facts_build_due)
