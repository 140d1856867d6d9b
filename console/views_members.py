"""Member search (``/staff/find/?q=``) and the member 360 page (``/staff/member/<pk>/``)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from console import selectors_members
from console.views_base import console_context, staff_view
from members.identifiers import phone_display, phone_mask
from members.search import MAX_QUERY_LENGTH
from members.selectors import member_search

RESULTS = 20


def sees_contacts(user) -> bool:
    """Full phone and email for staff who may change a member's profile (they need them to
    correct it); everyone else who may look a member up sees them masked."""
    return user.has_perm("members.change_member")


def _phone(member, full: bool) -> str:
    try:
        return phone_display(member.phone) if full else phone_mask(member.phone)
    except Exception:  # a stored value phonenumbers cannot read: show nothing rather than fail
        return ""


@staff_view("members.view_member")
def find(request):
    """The members a query finds, best first; even a single match is a list, so staff
    confirm whom they open."""
    query = (request.GET.get("q") or "").strip()[:MAX_QUERY_LENGTH]
    members = selectors_members.search_results(member_search(query, limit=RESULTS)) if query else []
    full = sees_contacts(request.user)
    for member in members:
        member.phone_shown = _phone(member, full)
    return render(
        request,
        "console/member_find.html",
        console_context(
            request,
            title=_("Find a member"),
            query=query,
            members=members,
            searched=bool(query),
            limit=RESULTS,
        ),
    )


@staff_view("members.view_member")
def member(request, member_id: int):
    """One page with everything about a member: profile and consents, tier, points, ledger,
    purchases and returns, vouchers, campaigns, referrals, data requests, audit trail."""
    found = selectors_members.member_for_page(member_id)
    if found is None:
        raise Http404(_("There is no such member."))
    data = selectors_members.member_page(found, request.user, ledger_page=request.GET.get("page"))
    full = sees_contacts(request.user)
    return render(
        request,
        "console/member.html",
        console_context(
            request,
            title=found.display_name,
            member=found,
            phone_shown=_phone(found, full),
            email_shown=found.email if full else _email_mask(found.email),
            **data,
        ),
    )


def _email_mask(email: str | None) -> str:
    """``lan.nguyen@example.com`` -> ``l***@example.com``."""
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"
