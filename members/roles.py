"""Staff roles as groups with permissions, kept in sync after every ``migrate``.

Each role lists permissions as ``app_label.codename`` (``*app_label`` for all of an app's,
``-app_label.codename`` to withhold one of those); a role's group gets exactly the listed
permissions that exist (apps added later bring their permissions with them). Roles:

- Program admin: everything about the programme, members, rewards, campaigns, promotions,
  referrals and stores; reads the periodic tasks. Not staff accounts: users, roles (groups)
  and permissions are a superuser's alone (``members.admin_staff``), so no role can hand
  itself or anyone else what it does not hold.
- Marketer: campaigns (but not approving the large ones), rewards, segments and
  promotions; reads members (no blocking, no points) and the referral and activity rules.
- Store manager: reads members and purchases, edits profiles; manages its store's data.
  Tied to the stores it works for (``User.stores``): sees their purchases, returns and
  figures only (``members.selectors.staff_store_ids``); members stay findable chain-wide.
- Support: helps members: edits profiles and consents, blocks, adjusts points with a reason,
  issues goodwill vouchers with a reason, reviews held referrals; carries out members'
  personal-data requests (download, withdraw consents, erase). Store managers may only
  withdraw a member's consents; marketers hold none of these.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

PROGRAM_ADMIN = "Program admin"
MARKETER = "Marketer"
STORE_MANAGER = "Store manager"
SUPPORT = "Support"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PROGRAM_ADMIN: [
        "*members",
        # Staff accounts are superusers' (members.admin_staff): whoever may change a user may
        # make it a superuser or set its password.
        "-members.add_user",
        "-members.change_user",
        "-members.delete_user",
        "-members.view_user",
        "*tiers",
        "*rewards",
        "*campaigns",
        "*promotions",
        "*pos",
        "insights.view_overview",
        # Periodic tasks are read-only below superuser: a task that may be created or edited
        # runs any registered task with any arguments as the platform (code execution), and
        # the admin's "run" action starts one now (members.admin_staff enforces it too).
        "django_celery_beat.view_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.view_intervalschedule",
        "django_celery_beat.view_solarschedule",
        "django_celery_beat.view_clockedschedule",
    ],
    MARKETER: [
        "insights.view_overview",
        "*campaigns",
        "-campaigns.approve_campaign",  # sending to more than 10,000: a programme admin's call
        "*rewards",
        "members.view_member",
        "members.view_store",
        "members.view_purchase",
        "members.view_program",
        "tiers.view_tier",
        "members.export_members",
        "promotions.add_promotion",
        "promotions.change_promotion",
        "promotions.delete_promotion",
        "promotions.view_promotion",
        "promotions.view_promotionaward",
        "promotions.view_activitybonus",
        "promotions.view_referralprogram",
        "promotions.view_purchasereview",
    ],
    STORE_MANAGER: [
        "insights.view_overview",  # its stores' figures only (insights.selectors.overview_scope)
        "members.view_member",
        "members.change_member",
        "members.view_purchase",
        "members.view_purchasereturn",  # its stores' only, as its purchases (staff_store_ids)
        "members.view_store",
        "members.view_program",
        "members.view_consentevent",
        # A member at the till who says "stop sending me offers": only ever turns them off.
        "members.withdraw_member_consents",
        "tiers.view_tier",
        "rewards.view_reward",
        "rewards.view_voucher",
    ],
    SUPPORT: [
        "insights.view_overview",
        "members.view_member",
        "members.change_member",
        "members.block_member",
        "members.adjust_points",
        # The member's personal-data requests (Decree 13), by phone or letter: support
        # carries them out; store managers (chain-wide members, one store's staff) and
        # marketers (who should not take personal data away) do not.
        "members.export_member_data",
        "members.withdraw_member_consents",
        "members.erase_member",
        "members.view_datarequest",
        "members.view_consentevent",
        "members.view_auditentry",
        "members.view_purchase",
        "members.view_store",
        "members.view_program",
        "tiers.view_tier",
        "rewards.view_reward",
        "rewards.view_voucher",
        "rewards.issue_goodwill_voucher",
        "promotions.view_referral",
        "promotions.review_referral",
        "promotions.view_referralprogram",
        "promotions.view_promotion",
        "promotions.view_purchasereview",
    ],
}

# What no role is ever given, whatever its list says: the permissions that manage staff
# accounts, roles and sign-in (users, groups, permissions, email addresses, which a password
# reset trusts, second factors, sessions). Holding any of them is a way to climb.
NEVER_GRANTED_APPS = frozenset({"auth", "contenttypes", "sessions", "account", "mfa"})
NEVER_GRANTED = frozenset(
    {"members.add_user", "members.change_user", "members.delete_user", "members.view_user"}
)


def role_may_hold(permission: str) -> bool:
    """False for the staff-account permissions above (``app_label.codename``)."""
    return permission not in NEVER_GRANTED and permission.split(".")[0] not in NEVER_GRANTED_APPS


def roles_sync(using: str = DEFAULT_DB_ALIAS, apps=global_apps) -> None:
    """Create the role groups and set each one's permissions to exactly its list."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    every = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.using(using).select_related("content_type")
    }
    for role, wanted in ROLE_PERMISSIONS.items():
        chosen = []
        for entry in wanted:
            if entry.startswith("*"):
                prefix = entry[1:] + "."
                chosen += [perm for key, perm in every.items() if key.startswith(prefix)]
            elif entry in every:
                chosen.append(every[entry])
        withheld = {every[entry[1:]] for entry in wanted if entry[1:] in every and entry[0] == "-"}
        withheld |= {perm for key, perm in every.items() if not role_may_hold(key)}
        group, _created = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([perm for perm in chosen if perm not in withheld])


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, apps=global_apps, **kwargs):
    """``post_migrate`` is sent once per app (after ``migrate`` and after ``flush``); sync
    after the last one, when every app's permissions exist. The programme row is ensured
    too: a database without it cannot serve a purchase."""
    if sender.label != list(global_apps.get_app_configs())[-1].label:
        return
    roles_sync(using=using)
    Program = global_apps.get_model("members", "Program")
    Program.objects.using(using).get_or_create(pk=Program.SINGLETON_ID)
