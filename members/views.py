"""The member portal's own pages: card, profile and consents."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from loyalty import codes
from loyalty.errors import DomainError
from members.forms import ConsentForm, ProfileForm
from members.identifiers import phone_display
from members.models import ConsentEvent, Member, PointAccount
from members.selectors import (
    HISTORY_GROUPS,
    history_items,
    member_consent_history,
    member_for_user,
    member_history,
    points_expiring_next,
)
from members.services import PROFILE_FIELDS, member_set_consent, member_update_profile


def _member_or_none(request) -> Member | None:
    return member_for_user(request.user)


def _no_member(request):
    """A staff login (or a login whose member was removed) has no portal; say so."""
    return render(request, "members/no_member.html", status=403)


def _card_context(member: Member) -> dict:
    """What the card shows: the codes of the card number, the balance and when it was read
    (the offline copy the service worker keeps says how old its balance is)."""
    return {
        "member": member,
        "account": PointAccount.objects.get(pk=member.pk),
        "codes": codes.card_images(member.card_number),
        "as_of": timezone.now(),
    }


@login_required
def home(request):
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    return render(
        request,
        "members/home.html",
        _card_context(member)
        | {"expiring": points_expiring_next(member.pk), "phone": phone_display(member.phone)},
    )


@login_required
@require_GET
def card(request):
    """The card alone, full width, for the till: what the service worker keeps offline (no
    phone, email or history on it)."""
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    response = render(request, "members/card.html", _card_context(member))
    # Kept by the service worker (it looks for this header), never by the HTTP cache.
    response["X-Loyalty-Card"] = "1"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def points_history(request):
    """The member's history in words, newest first by the purchase's date, filtered by
    group (``?show=earned|spent|expired|returns``) and paginated (``?page=``). An unknown
    filter is a 400; a page out of range shows the last one."""
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    group = request.GET.get("show") or None
    if group is not None and group not in HISTORY_GROUPS:
        return HttpResponseBadRequest(_("There is no such filter."), content_type="text/plain")
    # A page number out of range or not a number shows the nearest page (get_page).
    page = Paginator(member_history(member, group=group), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "members/points.html",
        {
            "member": member,
            "account": PointAccount.objects.get(pk=member.pk),
            "entries": history_items(page.object_list),
            "page": page,
            "group": group,
            "groups": _history_filters(),
        },
    )


HISTORY_PAGE_SIZE = 20


def _history_filters() -> list[tuple[str, str]]:
    return [
        ("", _("All")),
        ("earned", _("Earned")),
        ("spent", _("Spent")),
        ("expired", _("Expired")),
        ("returns", _("Returns")),
    ]


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
        form = ProfileForm(initial={f: getattr(member, f) for f in PROFILE_FIELDS if f != "phone"})
    return render(
        request,
        "members/profile.html",
        {"member": member, "form": form, "phone": phone_display(member.phone)},
    )


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
    """The member's card as an SVG QR code (standard QR, never Micro QR)."""
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    return HttpResponse(codes.qr_svg(member.card_number), content_type="image/svg+xml")


@login_required
@require_GET
@cache_control(private=True, max_age=3600)
def card_barcode(request):
    """The member's card number as an SVG Code 128 barcode, for laser scanners."""
    member = _member_or_none(request)
    if member is None:
        return _no_member(request)
    return HttpResponse(codes.code128_svg(member.card_number), content_type="image/svg+xml")
