"""Input allauth's headless API does not guard itself (django-allauth 65.21), each a 500
there: a JSON body nested deeper than Python's parser recurses (``RecursionError``); a
login-code request naming neither an email nor a phone (its form then has no user); a PUT,
PATCH or DELETE of ``account/phone`` without a login (the view reads a user it never set).
Answered here as headless answers bad input: 400 with ``errors``, or 405."""

from __future__ import annotations

import json

from django.http import HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _

PREFIX = "/_allauth/"
CODE_REQUEST = "/auth/code/request"
PHONE = "/account/phone"


def _bad_request(message: str, code: str, param: str | None = None) -> JsonResponse:
    error = {"message": message, "code": code}
    if param:
        error["param"] = param
    return JsonResponse({"status": 400, "errors": [error]}, status=400)


class HeadlessInputGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(PREFIX) and request.method not in ("GET", "HEAD", "OPTIONS"):
            refused = self._refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    @staticmethod
    def _refuse(request) -> JsonResponse | HttpResponseNotAllowed | None:
        if request.path.endswith(PHONE) and request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        try:
            body = request.body
        except Exception:  # too large and the like: Django's own handling answers it
            return None
        if not body:
            data = None
        else:
            try:
                data = json.loads(body.decode("utf8"))
            except RecursionError:
                return _bad_request(_("The request body is not valid JSON."), "invalid")
            except ValueError:
                return None  # headless answers malformed JSON itself (400)
        if request.path.endswith(CODE_REQUEST) and isinstance(data, dict | type(None)):
            data = data or {}
            if not any(
                isinstance(data.get(f), str) and data.get(f).strip() for f in ("phone", "email")
            ):
                return _bad_request(
                    _("Enter your phone number or email address."), "required", "phone"
                )
        return None
