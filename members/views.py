"""The member portal's own pages: card, profile and consents."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from loyalty.errors import DomainError
from members.forms import ConsentForm, ProfileForm
from members.identifiers import phone_display
from members.models import ConsentEvent, Member, PointAccount, PointEntry
from members.selectors import (
    member_consent_history,
    member_for_user,
    point_entries_for,
    points_expiring_next,
)
from members.services import PROFILE_FIELDS, member_set_consent, member_update_profile


def _member_or_none(request) -> Member | None:
    return member_for_user(request.user)


def _no_member(request):
    """A staff login (or a login whose member was removed) has no portal; say so."""
    return render(request, "members/no_member.html", status=403)


@login_required
def home(request):
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    qr = segno.make(member.card_number, error="m")
    return render(
        request,
        "members/home.html",
        {
            "member": member,
            "account": PointAccount.objects.get(pk=member.pk),
            "expiring": points_expiring_next(member.pk),
            "qr_svg": qr.svg_inline(scale=6, border=2, dark="#111", omitsize=True),
            "phone": phone_display(member.phone),
        },
    )


@login_required
def points_history(request):
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    entries = point_entries_for(member).exclude(kind=PointEntry.Kind.MATURE)[:100]
    return render(
        request,
        "members/points.html",
        {"member": member, "account": PointAccount.objects.get(pk=member.pk), "entries": entries},
    )


@login_required
def profile(request):
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                member_update_profile(
                    member=member,
                    acting_user=request.user,
                    **{f: form.cleaned_data[f] for f in PROFILE_FIELDS if f in form.cleaned_data},
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as exc:
                form.add_error(
                    exc.details.get("field") if exc.details.get("field") in form.fields else None,
                    exc.message,
                )
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("portal:profile")
    else:
        form = ProfileForm(
            initial={f: getattr(member, f) for f in PROFILE_FIELDS if f != "phone"}
            | {"phone": phone_display(member.phone)}
        )
    return render(request, "members/profile.html", {"member": member, "form": form})


@login_required
def consents(request):
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if form.is_valid():
            changed = False
            for channel in ("email", "sms"):
                changed |= member_set_consent(
                    member=member,
                    channel=channel,
                    granted=form.cleaned_data[f"{channel}_consent"],
                    source=ConsentEvent.Source.PORTAL,
                    acting_user=request.user,
                )
            if changed:
                messages.success(request, _("Your choices are saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("portal:consents")
    else:
        form = ConsentForm(
            initial={"email_consent": member.email_consent, "sms_consent": member.sms_consent}
        )
    history = member_consent_history(member)[:20]
    return render(
        request, "members/consents.html", {"member": member, "form": form, "history": history}
    )


@login_required
@require_GET
@cache_control(private=True, max_age=3600)
def card_qr(request):
    """The member's card as an SVG QR code, for the till's scanner."""
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    qr = segno.make(member.card_number, error="m")
    return HttpResponse(
        qr.svg_inline(scale=8, border=2, omitsize=True), content_type="image/svg+xml"
    )
