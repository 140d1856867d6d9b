"""The referral programme's row and the activity bonuses, created by migration for a fresh
database and ensured again after every ``migrate`` or ``flush`` (tests that flush the
database rely on it). Never changes rows that exist."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

# kind, points
DEFAULT_ACTIVITY_BONUSES = [
    ("profile_completed", 50),
    ("purchase_review", 20),
    ("first_login", 20),
]


def promotions_ensure_defaults(using: str = DEFAULT_DB_ALIAS, *, apps=None) -> None:
    """``apps`` is the migration's app registry when a migration calls it."""
    if apps is None:
        from promotions.models import ActivityBonus, ReferralProgram
    else:
        ActivityBonus = apps.get_model("promotions", "ActivityBonus")
        ReferralProgram = apps.get_model("promotions", "ReferralProgram")
    ReferralProgram.objects.using(using).get_or_create(pk=1)
    for kind, points in DEFAULT_ACTIVITY_BONUSES:
        ActivityBonus.objects.using(using).get_or_create(kind=kind, defaults={"points": points})


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, apps=None, **kwargs):
    """With the migrated state's models: after ``migrate promotions zero`` there are none."""
    if sender.name != "promotions":
        return
    if apps is not None:
        try:
            apps.get_model("promotions", "ReferralProgram")
        except LookupError:
            return
    promotions_ensure_defaults(using=using, apps=apps)
