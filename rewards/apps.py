from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Rewards")

    def ready(self):
        from loyalty import daily
        from rewards.services import vouchers_expire_due

        # After the points and tiers jobs (10-30): vouchers past their last day expire.
        daily.register("rewards.vouchers_expire", order=40)(vouchers_expire_due)

        from members.signals import member_erasing
        from rewards import privacy

        member_erasing.connect(privacy.on_member_erasing, dispatch_uid="rewards.erasing")
