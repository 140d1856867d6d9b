from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from loyalty.cache import forget_on_change
        from tiers.models import Tier

        forget_on_change(Tier, "tiers")
