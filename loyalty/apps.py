from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    default = True  # the config of "loyalty" in INSTALLED_APPS (not the admin's below)
    name = "loyalty"
    verbose_name = _("Platform")


class LoyaltyAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with ``loyalty.admin.LoyaltySite`` as ``admin.site``
    (INSTALLED_APPS names it in the admin's place)."""

    default = False
    default_site = "loyalty.admin.LoyaltySite"
