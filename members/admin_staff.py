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
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.text import capfirst
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


# allauth.mfa's Authenticator names itself and its fields in English only (no verbose_name,
# nothing to translate), so the admin labels them here. The model's names are set on its
# _meta alone, not its Meta (original_attrs), so no migration of allauth's app follows.
Authenticator._meta.verbose_name = _("authenticator")
Authenticator._meta.verbose_name_plural = _("authenticators")
# django-celery-beat names a periodic task's task field "Task Name" without gettext, so it
# stays English whatever the language; relabelled on _meta only (no migration of its app).
PeriodicTask._meta.get_field("task").verbose_name = _("task name")
AUTHENTICATOR_LABELS = {
    "user": _("user"),
    "type": _("type"),
    "data": _("data"),
    "created_at": _("created at"),
    "last_used_at": _("last used at"),
}


def _titled(filter_class, field_name: str):
    """A list filter of ``filter_class`` whose title is the field's label above."""

    def __init__(self, *args, **kwargs):
        filter_class.__init__(self, *args, **kwargs)
        self.title = AUTHENTICATOR_LABELS[field_name]

    return (field_name, type(filter_class.__name__, (filter_class,), {"__init__": __init__}))


class AuthenticatorForm(forms.ModelForm):
    class Meta:
        model = Authenticator
        fields = ("user", "type", "data")
        labels = {name: capfirst(label) for name, label in AUTHENTICATOR_LABELS.items()}


class AuthenticatorSuperuserAdmin(SuperuserOnlyMixin, AuthenticatorAdmin):
    """Second factors: editing one (its secret) or deleting it undoes the second factor."""

    form = AuthenticatorForm
    list_display = ("user_label", "type_label", "created_label", "last_used_label")
    list_filter = (
        _titled(admin.ChoicesFieldListFilter, "type"),
        _titled(admin.DateFieldListFilter, "created_at"),
        _titled(admin.DateFieldListFilter, "last_used_at"),
    )

    @admin.display(description=AUTHENTICATOR_LABELS["user"], ordering="user")
    def user_label(self, obj):
        return obj.user

    @admin.display(description=AUTHENTICATOR_LABELS["type"], ordering="type")
    def type_label(self, obj):
        return obj.get_type_display()

    @admin.display(description=AUTHENTICATOR_LABELS["created_at"], ordering="created_at")
    def created_label(self, obj):
        return obj.created_at

    @admin.display(description=AUTHENTICATOR_LABELS["last_used_at"], ordering="last_used_at")
    def last_used_label(self, obj):
        return obj.last_used_at


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
