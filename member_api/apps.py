from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MemberApiConfig(AppConfig):
    """The member API for a mobile app (``/api/v1/me/``): a layer above the domain apps, like
    ``pos``, since one member's view crosses them all (points, tier, rewards, referrals,
    notifications). No domain app imports it."""

    name = "member_api"
    verbose_name = _("Member API")

    def ready(self):
        from member_api import privacy
        from members.signals import member_erasing

        member_erasing.connect(privacy.on_member_erasing, dispatch_uid="member_api.erasing")
