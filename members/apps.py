from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from loyalty import daily
        from loyalty.cache import forget_on_change
        from members import roles, search
        from members.models import EarnCategoryRule, Program, Store
        from members.services import points

        forget_on_change(Program, "program")
        forget_on_change(EarnCategoryRule, "earn_categories")
        forget_on_change(Store, "apikey:")

        post_migrate.connect(roles.on_post_migrate, dispatch_uid="members.roles_sync")
        # The member search's SQL functions, which PostgreSQL has from migration 0016.
        connection_created.connect(
            search.sqlite_functions_register, dispatch_uid="members.search_functions"
        )
        # Pending points mature before anything expires or tiers are computed.
        daily.register("points.mature_pending", order=10)(points.points_mature_due)
        daily.register("points.expire", order=20)(points.points_expire_due)
