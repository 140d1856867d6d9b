from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MemberApiConfig(AppConfig):
    """The member API for a mobile app (``/api/v1/me/``): a layer above the domain apps, like
    ``pos``, since one member's view crosses them all (points, tier, rewards, referrals,
    notifications). No domain app imports it."""

    name = "member_api"
    verbose_name = _("Member API")
