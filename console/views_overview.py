"""The programme overview page (``/staff/overview/``) and its CSV downloads
(``/staff/overview.csv?section=...``), over ``insights.selectors.overview_figures`` and the
panels of ``insights.panels``. A store manager sees their stores only; a store outside a
user's scope is a 404, bad parameters a 400 with the message on the page."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from console import charts
from console.views_base import console_context, staff_view
from insights import panels
from insights.selectors import OverviewError, overview_figures, overview_params

PERM = "insights.view_overview"
SECTIONS = ("kpis", "series", "tiers", "cohorts", "rewards", "campaigns", "referrals")

# (key, label, kind): kind chooses the formatting (money, count, rate, ratio).
KPIS = (
    ("members_total", gettext_lazy("Members"), "count"),
    ("members_new", gettext_lazy("New members"), "count"),
    ("members_active", gettext_lazy("Active members"), "count"),
    ("active_rate", gettext_lazy("Active rate"), "rate"),
    ("repeat_rate", gettext_lazy("Repeat rate"), "rate"),
    ("purchases", gettext_lazy("Purchases"), "count"),
    ("revenue", gettext_lazy("Revenue"), "money"),
    ("aov", gettext_lazy("Average order value"), "money"),
    ("visits_per_active", gettext_lazy("Visits per active member"), "ratio"),
    ("points_issued", gettext_lazy("Points issued"), "count"),
    ("points_redeemed", gettext_lazy("Points redeemed"), "count"),
    ("points_expired", gettext_lazy("Points expired"), "count"),
    ("points_reversed", gettext_lazy("Points reversed"), "count"),
    ("points_outstanding", gettext_lazy("Points outstanding"), "count"),
    ("liability", gettext_lazy("Points liability"), "money"),
    ("redemption_rate", gettext_lazy("Redemption rate"), "rate"),
    ("breakage_rate", gettext_lazy("Breakage rate"), "rate"),
)


def _store_choices(user) -> tuple[list, bool]:
    """The stores ``user`` may choose (code, name) and whether the whole chain is offered."""
    from members.models import Store
    from members.selectors import staff_store_ids

    allowed = staff_store_ids(user)
    stores = Store.objects.order_by("code")
    if allowed is not None:
        stores = stores.filter(id__in=allowed)
    choices = list(stores.values_list("code", "name"))
    return choices, allowed is None or len(choices) > 1


def _change(current, previous) -> dict | None:
    if current is None or not previous:
        return None
    pct = ((Decimal(current) - Decimal(previous)) / Decimal(previous) * 100).quantize(
        Decimal("0.1")
    )
    return {"pct": abs(pct), "direction": "up" if pct > 0 else "down" if pct < 0 else "same"}


def _shown(value, kind):
    if value is None:
        return None
    return Decimal(value) * 100 if kind == "rate" else value


def kpi_cards(figures: dict) -> list[dict]:
    previous = figures["previous"]
    return [
        {
            "key": key,
            "label": label,
            "kind": kind,
            "value": _shown(figures[key], kind),
            "previous": _shown(previous.get(key), kind),
            "change": _change(figures[key], previous.get(key)),
        }
        for key, label, kind in KPIS
    ]


def _panels(start, end, store_ids) -> dict:
    return {
        "rewards": panels.top_rewards(start=start, end=end, store_ids=store_ids),
        "campaigns": panels.campaign_results(start=start, end=end, store_ids=store_ids),
        "referrals": panels.referral_funnel(start=start, end=end, store_ids=store_ids),
    }


def _referral_rows(funnel: dict) -> list[tuple[str, str, int]]:
    labels = {
        "joined": _("Joined with a code"),
        "bought": _("Made the qualifying purchase"),
        "rewarded": _("Rewarded"),
        "pending": _("Waiting"),
        "held": _("Held for review"),
        "refused": _("Refused"),
    }
    return [(key, labels[key], funnel[key] or 0) for key in labels]


@staff_view(PERM)
@require_GET
def overview(request):
    stores, whole_chain = _store_choices(request.user)
    context = {
        "title": _("Overview"),
        "stores": stores,
        "whole_chain": whole_chain,
        "form": {
            "start": (request.GET.get("start") or "")[:10],
            "end": (request.GET.get("end") or "")[:10],
            "store": (request.GET.get("store") or "")[:64],
        },
    }
    try:
        start, end, store_ids, store_code = overview_params(request.GET, request.user)
    except OverviewError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from exc
        context.update(error=exc.message, error_field=exc.field)
        return render(
            request, "console/overview.html", console_context(request, **context), status=400
        )
    figures = overview_figures(start=start, end=end, store_ids=store_ids)
    extra = _panels(start, end, store_ids)
    context["form"].update(start=start.isoformat(), end=end.isoformat(), store=store_code)
    store_name = dict(stores).get(store_code) if store_code else None
    query = {"start": start.isoformat(), "end": end.isoformat(), "store": store_code}
    context.update(
        figures=figures,
        cards=kpi_cards(figures),
        store_code=store_code,
        store_name=store_name,
        query=query,
        series_svg=charts.series_chart(figures["series"]),
        tiers_svg=charts.tier_chart(figures["by_tier"]),
        cohorts_svg=charts.cohort_heatmap(figures["cohorts"]),
        cohorts=charts.cohort_rows(figures["cohorts"]),
        cohort_months=range(max([len(c["returned"]) for c in figures["cohorts"]] + [0])),
        rewards=extra["rewards"],
        campaigns=extra["campaigns"],
        referrals=_referral_rows(extra["referrals"]),
    )
    response = render(request, "console/overview.html", console_context(request, **context))
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- CSV


def _plain(value) -> str:
    """A CSV cell: numbers plain (no grouping), dates ISO, nothing for ``None``."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a name a spreadsheet would run as a formula
    return str(value)


def csv_rows(section: str, figures: dict, extra: dict) -> list[list]:
    """The header row and the rows of one CSV section."""
    if section == "kpis":
        previous = figures["previous"]
        return [["metric", "value", "previous_year"]] + [
            [key, figures[key], previous.get(key)] for key, _label, _kind in KPIS
        ]
    if section == "series":
        cols = [
            "start",
            "purchases",
            "revenue",
            "members_new",
            "members_active",
            "points_issued",
            "points_redeemed",
            "points_expired",
        ]
        return [cols] + [[row[c] for c in cols] for row in figures["series"]["rows"]]
    if section == "tiers":
        cols = ["tier", "name", "members_active", "purchases", "revenue", "aov"]
        return [cols] + [[row[c] for c in cols] for row in figures["by_tier"]]
    if section == "cohorts":
        months = max([len(c["returned"]) for c in figures["cohorts"]] + [0])
        header = ["month", "joined"] + [f"m{i}" for i in range(months)]
        return [header] + [
            [c["month"].strftime("%Y-%m"), c["joined"], *c["returned"]] for c in figures["cohorts"]
        ]
    if section == "rewards":
        cols = ["reward_id", "name", "issued", "used"]
        return [cols] + [[row[c] for c in cols] for row in extra["rewards"]]
    if section == "campaigns":
        cols = [
            "campaign_id",
            "name",
            "sends",
            "sent",
            "failed",
            "skipped",
            "queued",
            "vouchers",
            "vouchers_used",
        ]
        return [cols] + [[row[c] for c in cols] for row in extra["campaigns"]]
    funnel = extra["referrals"]
    return [["stage", "count"]] + [
        [key, funnel[key] or 0] for key, _l, _n in _referral_rows(funnel)
    ]


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@staff_view(PERM)
@require_GET
def overview_csv(request):
    section = request.GET.get("section") or "kpis"  # no section: the key figures
    if section not in SECTIONS:
        return _text(_("Choose a section: %s.") % ", ".join(SECTIONS), 400)
    try:
        start, end, store_ids, store_code = overview_params(request.GET, request.user)
    except OverviewError as exc:
        return _text(exc.message, 404 if exc.code == "not_found" else 400)
    figures = {}
    extra = {}
    if section in ("kpis", "series", "tiers", "cohorts"):
        figures = overview_figures(start=start, end=end, store_ids=store_ids)
    elif section == "rewards":
        extra["rewards"] = panels.top_rewards(start=start, end=end, store_ids=store_ids)
    elif section == "campaigns":
        extra["campaigns"] = panels.campaign_results(start=start, end=end, store_ids=store_ids)
    else:
        extra["referrals"] = panels.referral_funnel(start=start, end=end, store_ids=store_ids)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in csv_rows(section, figures, extra):
        writer.writerow([_plain(cell) for cell in row])
    scope = store_code or "all"
    filename = f"overview-{section}-{start.isoformat()}-{end.isoformat()}-{scope}.csv"
    filename = "".join(ch for ch in filename if ch.isalnum() or ch in "-._")
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
