from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    """Earning promotions, referrals and activity bonuses: the rules the purchase flow
    applies on every purchase (apart from the campaigns' batch messaging)."""

    name = "promotions"
    verbose_name = _("Promotions and referrals")

    def ready(self):
        from allauth.account.signals import user_logged_in
        from django.db.models.signals import m2m_changed, post_migrate

        from loyalty import daily
        from loyalty.cache import forget, forget_on_change
        from members.signals import member_enrolled, profile_updated
        from promotions import defaults, receivers
        from promotions.models import ActivityBonus, Promotion
        from promotions.selectors import PROMOTIONS_CACHE_KEY
        from promotions.services import referrals_pay_due

        forget_on_change(Promotion, PROMOTIONS_CACHE_KEY)
        forget_on_change(ActivityBonus, "activity_bonuses")
        for through in (Promotion.tiers.through, Promotion.stores.through):
            m2m_changed.connect(
                lambda **kwargs: forget(PROMOTIONS_CACHE_KEY),
                sender=through,
                weak=False,
                dispatch_uid=f"promotions.cache:{through._meta.label}",
            )
        post_migrate.connect(defaults.on_post_migrate, dispatch_uid="promotions.defaults")
        member_enrolled.connect(receivers.on_member_enrolled, dispatch_uid="promotions.enrolled")
        profile_updated.connect(receivers.on_profile_updated, dispatch_uid="promotions.profile")
        user_logged_in.connect(receivers.on_user_logged_in, dispatch_uid="promotions.login")
        from members.signals import member_erasing
        from promotions import privacy

        member_erasing.connect(privacy.on_member_erasing, dispatch_uid="promotions.erasing")
        # After pending points mature (10), so a referral and the purchase's points become
        # available on the same day; before expiry (20).
        daily.register("promotions.referrals", order=15)(referrals_pay_due)
