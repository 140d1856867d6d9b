"""The member's "My data" pages (Decree 13/2023): download a copy, withdraw every consent,
delete the account. Each acts on the logged-in member only (no id in any URL); the services
record the request. Downloading and deleting need a recent proof of identity
(``recently_authenticated``), so a session left open on a shared phone is not enough.
"""

from __future__ import annotations

import json
import time
from functools import wraps

from allauth.account import app_settings as allauth_account_settings
from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import get_reauthentication_flows
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from members.models import DataRequest
from members.selectors import member_for_user
from members.services.privacy import (
    data_request_record,
    member_data_export,
    member_data_export_csv,
    member_erase,
    member_withdraw_consents,
)

EXPORT_FORMATS = ("json", "csv")


def recently_authenticated(view=None, *, allow_get=False):
    """allauth's reauthentication (the password, or the authenticator app, again within
    ``ACCOUNT_REAUTHENTICATION_TIMEOUT``) for a login that has a way to reauthenticate. A
    login with neither (a member who logs in by phone and one-time code only) would pass
    allauth's check untested, so it needs a fresh login instead: the last sign-in recorded
    in the session within the same timeout, or it is logged out and sent to sign in again.
    (``allauth.account.internal``: pinned django-allauth 65.)"""

    def decorator(view_func):
        with_allauth = reauthentication_required(view_func, allow_get=allow_get)

        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if get_reauthentication_flows(request.user):
                return with_allauth(request, *args, **kwargs)
            if not (allow_get and request.method == "GET"):
                records = get_authentication_records(request, request.user)
                timeout = allauth_account_settings.REAUTHENTICATION_TIMEOUT
                if not records or time.time() - records[-1]["at"] >= timeout:
                    logout(request)
                    return redirect_to_login(request.get_full_path())
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def member_required(view_func):
    """The logged-in member, passed to the view; a login without a member (staff) gets the
    portal's 403 page before anything else is asked of it."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        member = member_for_user(request.user)
        if member is None:
            return render(request, "members/no_member.html", status=403)
        return view_func(request, member, *args, **kwargs)

    return wrapper


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand that my account, my card and my points are gone for good."
        ),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )


@login_required
@require_GET
@member_required
def my_data(request, member):
    requests = DataRequest.objects.filter(member=member).order_by("-created_at", "-id")[:10]
    return render(
        request,
        "members/privacy.html",
        {"member": member, "requests": requests, "formats": EXPORT_FORMATS},
    )


def export_response(member, fmt: str) -> HttpResponse:
    """The download of ``member``'s data in ``fmt`` (json or csv): shared with the admin."""
    stamp = timezone.localdate().isoformat()
    if fmt == "json":
        body = json.dumps(
            member_data_export(member), ensure_ascii=False, indent=2, cls=DjangoJSONEncoder
        )
        response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
        filename = f"my-data-{member.card_number}-{stamp}.json"
    else:
        content, content_type, filename = member_data_export_csv(member)
        response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
@member_required
@recently_authenticated
@never_cache
def my_data_export(request, member):
    fmt = request.POST.get("format", "")
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(_("Choose JSON or CSV."), content_type="text/plain")
    response = export_response(member, fmt)
    data_request_record(
        member=member,
        kind=DataRequest.Kind.EXPORT,
        acting_user=request.user,
        channel=DataRequest.Channel.PORTAL,
    )
    return response


@login_required
@require_POST
@member_required
def my_data_withdraw(request, member):
    member_withdraw_consents(
        member=member, acting_user=request.user, channel=DataRequest.Channel.PORTAL
    )
    messages.success(
        request,
        _("You will no longer receive offers or news by email or SMS."),
    )
    return redirect("portal:my_data")


@login_required
@require_http_methods(["GET", "POST"])
@member_required
@recently_authenticated(allow_get=True)
def my_data_delete(request, member):
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        member_erase(member=member, acting_user=request.user, channel=DataRequest.Channel.PORTAL)
        logout(request)
        return redirect("portal:my_data_deleted")
    return render(request, "members/privacy_delete.html", {"member": member, "form": form})


@require_GET
def my_data_deleted(request):
    return render(request, "members/privacy_deleted.html")
