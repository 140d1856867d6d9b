"""Staff accounts in the admin: who may sign in to the staff side and with which roles.

Only superusers manage staff accounts, roles (auth groups), permissions, the email addresses
a password reset trusts and the second factors: whoever may change a user may make it a
superuser, give it any role or set its password, so these admins answer 403 to everyone
else, whatever permissions a group was given (``members.roles`` gives none of them to any
role either). The periodic tasks are read-only below superuser (see ``BeatReadOnlyMixin``).
"""

from __future__ import annotations

from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from members.models import User


def is_superuser(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


class SuperuserOnlyMixin:
    """Every view (list, add, change, delete, history, the password form, autocomplete)
    answers 403 to anyone who is not an active superuser, and the admin's index hides it."""

    def has_module_permission(self, request):
        return is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return is_superuser(request)

    def has_add_permission(self, request, *args):
        return is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return is_superuser(request)


def _reregister(model, admin_class) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


@admin.register(User)
class UserAdmin(SuperuserOnlyMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name", "member__full_name", "member__phone", "member__card_number"]
    filter_horizontal = ["groups", "user_permissions", "stores"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["name"]}),
        (
            _("Permissions"),
            {
                "fields": [
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                    "stores",  # a store manager sees these stores' purchases only
                ]
            },
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]


class GroupAdmin(SuperuserOnlyMixin, DjangoGroupAdmin):
    """Roles: their permissions are set by ``members.roles`` after every migrate."""


class EmailAddressSuperuserAdmin(SuperuserOnlyMixin, EmailAddressAdmin):
    """A staff user's address is where a password reset goes: changing it takes the account."""


class AuthenticatorSuperuserAdmin(SuperuserOnlyMixin, AuthenticatorAdmin):
    """Second factors: editing one (its secret) or deleting it undoes the second factor."""


_reregister(Group, GroupAdmin)
_reregister(EmailAddress, EmailAddressSuperuserAdmin)
_reregister(Authenticator, AuthenticatorSuperuserAdmin)


class BeatReadOnlyMixin:
    """Periodic tasks and their schedules: read-only below superuser, with no actions.

    A periodic task names any registered task and carries arguments of its author's choice;
    whoever may add or edit one runs code as the platform (a campaign send to everyone, a
    points job with made-up ids, every night), and the "run selected tasks" action starts
    one at once, so only superusers write here or act on the rows, whatever a role holds.
    """

    def has_add_permission(self, request, *args):
        return is_superuser(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_superuser(request) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        return super().get_actions(request) if is_superuser(request) else {}


class PeriodicTaskAdmin(BeatReadOnlyMixin, beat_admin.PeriodicTaskAdmin):
    pass


class ClockedScheduleAdmin(BeatReadOnlyMixin, beat_admin.ClockedScheduleAdmin):
    pass


class CrontabScheduleAdmin(BeatReadOnlyMixin, beat_admin.CrontabScheduleAdmin):
    pass


class SolarScheduleAdmin(BeatReadOnlyMixin, beat_admin.SolarScheduleAdmin):
    pass


class IntervalScheduleAdmin(BeatReadOnlyMixin, beat_admin.IntervalScheduleAdmin):
    pass


_reregister(PeriodicTask, PeriodicTaskAdmin)
_reregister(ClockedSchedule, ClockedScheduleAdmin)
_reregister(CrontabSchedule, CrontabScheduleAdmin)
_reregister(SolarSchedule, SolarScheduleAdmin)
_reregister(IntervalSchedule, IntervalScheduleAdmin)
