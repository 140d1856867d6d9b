"""Admin helpers shared by the apps, and the admin site every app registers with."""

from django.contrib import admin
from django.http import Http404


class MissingObjectIs404:
    """An id the admin cannot find (none such, not a number, or outside what the user may
    see) is a 404 on the change, delete and history pages, not Django's redirect to the
    index: a missing object is a 404 everywhere."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


class LoyaltySite(admin.AdminSite):
    """Django's admin site made into the staff console at /staff/ (its index is the
    console's home; templates/admin/ themes it for phones and tablets), with every ModelAdmin
    registered on it (the apps' and the libraries': users, groups, email addresses,
    authenticators, periodic tasks) answering 404 for a missing object
    (``loyalty.apps.LoyaltyAdminConfig`` makes it the default)."""

    def each_context(self, request):
        """The admin's context plus ``brand`` (members.brand: the programme's name, colour
        and logo) for the console's header."""
        from members.brand import brand_get

        context = super().each_context(request)
        context["brand"] = brand_get()
        return context

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, MissingObjectIs404):
            admin_class = type(
                admin_class.__name__,
                (MissingObjectIs404, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through services (ledger, history, records): the admin
    shows and searches them, nothing more."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
