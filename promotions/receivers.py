"""Thin receivers of the signals promotions listens to; each calls one service."""

from __future__ import annotations

from promotions.services import activity, referrals


def on_member_enrolled(sender, member, referrer=None, channel="", ip=None, device_id="", **kw):
    referrals.contacts_record(member=member)
    if referrer is not None:
        referrals.referral_record_join(
            referee=member, referrer=referrer, channel=channel, ip=ip, device_id=device_id
        )
    activity.activity_bonus_profile_completed(member=member)


def on_profile_updated(sender, member, changed=(), before=None, **kwargs):
    if {"phone", "email"} & set(changed):
        referrals.contacts_record(member=member, before=before or {})
    activity.activity_bonus_profile_completed(member=member)


def on_user_logged_in(sender=None, request=None, user=None, **kwargs):
    if user is not None:
        activity.activity_bonus_first_login(user=user)
