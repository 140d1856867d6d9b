"""Staff sign-in: one login page (allauth's) and a second factor for the powerful roles.

- ``admin_login``: the admin's own login page has no rate limit and no second factor, so
  its URL sends staff to allauth's login (``next`` kept), where ``ACCOUNT_RATE_LIMITS``
  (login_failed) and the MFA stage apply.
- ``StaffMFAMiddleware``: a superuser or Program admin who has no authenticator app
  enrolled cannot open an admin or staff page; they are sent to set one up first. It checks
  the enrolment (an active TOTP ``Authenticator``), not the session: once enrolled, every
  sign-in goes through allauth's MFA stage, the only login there is.
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from members.roles import PROGRAM_ADMIN


def admin_login(request):
    """The admin's login URL: allauth's login, coming back to the admin page asked for."""
    user = request.user
    if user.is_authenticated and not (user.is_active and user.is_staff):
        # Signed in but not staff: allauth would send them straight back here (a loop).
        raise PermissionDenied
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    if user.is_authenticated:
        return redirect(next_url)
    return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


def mfa_required(user) -> bool:
    """Superusers and Program admins sign in with a second factor."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(name=PROGRAM_ADMIN).exists()


def totp_enrolled(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


class StaffMFAMiddleware:
    """After allauth's AccountMiddleware: the admin and staff pages need an enrolled TOTP
    authenticator for the roles of ``mfa_required``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if self._guarded(request.path_info) and mfa_required(user) and not totp_enrolled(user):
            messages.warning(
                request,
                _(
                    "Your account can change the whole programme, so it signs in with a "
                    "second factor. Set up an authenticator app to continue."
                ),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def _guarded(path: str) -> bool:
        if path in (reverse("admin:logout"), reverse("admin:login")):
            return False
        return path.startswith(reverse("admin:index"))
