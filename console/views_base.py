"""What every console page shares: the admin's login and staff check, permission checks,
and the admin's page context (header, sidebar, user links), so the console's pages and the
admin's model pages are one UI.

    @staff_view("members.view_member")
    def member_page(request, pk): ...
        return render(request, "console/member.html", console_context(request, title=..., ...))

Templates extend ``console/base.html`` (which extends ``admin/base_site.html``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied


def staff_view(*perms: str, any_of: bool = False) -> Callable:
    """A console view: staff login required (the admin's own login page and checks, incl.
    the second factor), then every permission in ``perms`` (or one of them if ``any_of``);
    a staff user without it gets 403."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if perms:
                held = [request.user.has_perm(perm) for perm in perms]
                if not (any(held) if any_of else all(held)):
                    raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate


def console_context(request, **extra) -> dict:
    """The admin's context for a page (site header, sidebar's app list, user tools) plus
    ``extra``."""
    context = admin.site.each_context(request)
    context.update(extra)
    return context


def has_all(user, perms: Iterable[str]) -> bool:
    return all(user.has_perm(perm) for perm in perms)
