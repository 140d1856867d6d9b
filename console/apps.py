from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The staff console at /staff/: Django's admin site with the programme's own pages
    (overview, member 360, actions, audit log) beside its model pages."""

    name = "console"
    verbose_name = _("Staff console")
    default_auto_field = "django.db.models.BigAutoField"
