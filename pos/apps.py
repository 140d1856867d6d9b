from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PosConfig(AppConfig):
    name = "pos"
    verbose_name = _("Point of sale")

    def ready(self):
        from loyalty.cache import forget_on_change
        from pos.models import StoreApiKey

        forget_on_change(StoreApiKey, "apikey:")
