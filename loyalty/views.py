"""Project-wide views: the landing page, health check and error pages (JSON under /api/)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.utils.translation import gettext as _

from loyalty.api import json_error_response


def landing(request):
    if request.user.is_authenticated:
        return redirect("admin:index" if request.user.is_staff else "portal:home")
    return render(request, "landing.html")


def admin_moved(request, rest: str):
    """The admin moved from /admin/ to /staff/ (the staff console): the same path under
    /staff/, query string kept, permanently. Always a path on this site (never a host)."""
    target = reverse("admin:index") + escape_uri_path(rest).lstrip("/")
    query = request.META.get("QUERY_STRING", "")
    if query:
        target += "?" + iri_to_uri(query)
    return HttpResponsePermanentRedirect(target)


def health(request):
    """Liveness and database reachability, for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return json_error_response(request, "not_found", _("Not found."), 404)
    return render(request, "404.html", status=404)


def handler500(request):
    if _is_api(request):
        return json_error_response(
            request,
            "server_error",
            _("Something went wrong on our side; nothing was changed."),
            500,
        )
    return render(request, "500.html", status=500)


def handler403(request, exception=None):
    if _is_api(request):
        return json_error_response(request, "permission_denied", _("Permission denied."), 403)
    return render(request, "403.html", status=403)


def handler400(request, exception=None):
    if _is_api(request):
        return json_error_response(request, "validation_error", _("Bad request."), 400)
    return render(request, "400.html", status=400)
