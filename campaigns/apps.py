from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from django.db.models.signals import post_migrate

        from campaigns import defaults
        from campaigns.models import Segment
        from campaigns.selectors import segment_contains
        from campaigns.services import campaigns_run_daily, segments_compute
        from loyalty import daily
        from loyalty.cache import forget_on_change

        forget_on_change(Segment, "segments:")
        # After the points jobs (10, 20) and the tiers (30): VIP reads tonight's tiers.
        daily.register("campaigns.segments", order=50)(segments_compute)
        # After the segments (50): audiences read tonight's scores and tiers.
        daily.register("campaigns.run", order=60)(campaigns_run_daily)
        post_migrate.connect(defaults.on_post_migrate, dispatch_uid="campaigns.defaults")

        from campaigns import privacy
        from members.signals import member_erasing

        member_erasing.connect(privacy.on_member_erasing, dispatch_uid="campaigns.erasing")
        # Rewards restricted to a segment ask the campaigns whether a member is in it.
        from rewards.segments import register_checker

        register_checker(segment_contains)
