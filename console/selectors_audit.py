"""The audit log's reads: entries filtered by member, staff user, action and local days,
newest first (``members.AuditEntry``, written by the services that act)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from insights.services import day_start
from members.models import AuditEntry
from members.selectors import member_search

# What each action code the services write means, for people. An entry whose code is not
# here (an older or a new one) is shown with its code.
ACTION_LABELS = {
    "points.adjusted": _("Points adjusted"),
    "member.blocked": _("Member blocked"),
    "member.unblocked": _("Member unblocked"),
    "member.profile_changed": _("Profile changed"),
    "member.consent_changed": _("Consents changed"),
    "member.login_claimed": _("Linked to an online account"),
    "member.data_request.export": _("Personal data exported"),
    "member.data_request.withdraw_consents": _("Consents withdrawn on request"),
    "member.data_request.erase": _("Personal data erased"),
    "tier.set_manually": _("Tier set by hand"),
    "voucher.goodwill_issued": _("Goodwill voucher issued"),
    "voucher.resent": _("Voucher sent again"),
    "referral.approved": _("Referral approved"),
    "referral.rejected": _("Referral rejected"),
    "rewards.partner_codes_imported": _("Partner codes imported"),
    "pos.api_key_created": _("POS API key created"),
    "pos.api_key_revoked": _("POS API key revoked"),
}

# How many members a member search may name in the filter: a name shared by more people
# than this is too vague to filter on (the page says so).
MEMBER_MATCHES = 50


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def audit_entries(
    *,
    member_query: str = "",
    staff_query: str = "",
    action: str = "",
    start: date | None = None,
    end: date | None = None,
) -> QuerySet[AuditEntry]:
    """Entries matching every filter given (empty ones are ignored). ``member_query`` is
    the console's member search (name without accents, phone, email, card number);
    ``staff_query`` a part of the acting staff user's email or name, or of the label of a
    non-person actor (a store's API key, a job); ``start``/``end`` local days, inclusive."""
    entries = AuditEntry.objects.select_related("actor", "member")
    if member_query:
        ids = [found.pk for found in member_search(member_query, limit=MEMBER_MATCHES)]
        entries = entries.filter(member_id__in=ids)
    if staff_query:
        entries = entries.filter(
            Q(actor__email__icontains=staff_query)
            | Q(actor__name__icontains=staff_query)
            | Q(actor_label__icontains=staff_query)
        )
    if action:
        entries = entries.filter(action=action)
    if start:
        entries = entries.filter(at__gte=day_start(start))
    if end:
        entries = entries.filter(at__lt=day_start(end + timedelta(days=1)))
    return entries.order_by("-at", "-id")
