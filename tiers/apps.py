from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from django.db.models.signals import post_migrate

        from loyalty import daily
        from loyalty.cache import forget_on_change
        from tiers import defaults
        from tiers.models import Tier
        from tiers.services import tiers_recalculate

        forget_on_change(Tier, "tiers")
        post_migrate.connect(defaults.on_post_migrate, dispatch_uid="tiers.defaults")
        daily.register("tiers.recalculate", order=30)(tiers_recalculate)
