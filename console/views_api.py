"""The overview's figures as JSON for staff sessions:
``GET /staff/api/overview/?start=YYYY-MM-DD&end=YYYY-MM-DD[&store=CODE]``.

A staff session's endpoint (the console's own JavaScript, a spreadsheet's web query while
signed in), not the POS API: no API key, no token. Errors use the POS contract's body
(``{"error": {"code", "message", "details"}}``) with 400, 401, 403, 404 or 405; never a
redirect to the login page, which a script cannot follow.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from insights.selectors import OverviewError, overview_figures, overview_params
from loyalty.api import error_body

STATUS_BY_CODE = {"validation_error": 400, "forbidden": 403, "not_found": 404}


def _plain(value):
    """JSON-ready: money and rates as decimal strings (exact), dates as ISO strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _error(code: str, message: str, status: int, details: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, details), status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def overview(request):
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return _error("not_authenticated", _("Sign in to the staff console first."), 401)
    if not user.has_perm("insights.view_overview"):
        return _error("forbidden", _("You may not see the programme's figures."), 403)
    try:
        start, end, store_ids, _code = overview_params(request.GET, user)
    except OverviewError as exc:
        details = {exc.field: [exc.message]} if exc.field else {}
        return _error(exc.code, exc.message, STATUS_BY_CODE.get(exc.code, 400), details)
    figures = overview_figures(start=start, end=end, store_ids=store_ids)
    response = JsonResponse(_plain(figures), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, no-store"
    return response
