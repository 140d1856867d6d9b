"""allauth's headless app API, now reachable from the internet, answers malformed input
with 400 like the rest (never a 500): every one of its URLs, every write method."""

from __future__ import annotations

from tests.member_api.conftest import PASSWORD, app_login
from tests.security.test_authz_matrix import url_patterns

BODIES = [
    b"{",
    b"[]",
    b"null",
    b'"x"',
    b"{}",
    b'{"email": 5, "password": []}',
    b'{"phone": "\\u0000"}',
    b'{"phone": "   "}',
    b'{"email": "a@b.c", "password": "x", "full_name": "A", "phone": "0912 999 888"}',
    b"[" * 20_000 + b"]" * 20_000,
    b'{"a": ' * 5_000 + b"1" + b"}" * 5_000,
    b'{"code": 1e400}',
    b'{"key": {"a": 1}}',
    b"\xff\xfe",
]


def _fuzz(client, headers: dict) -> list:
    failures = []
    for pattern in url_patterns():
        if not pattern.route.startswith("_allauth"):
            continue
        url = "/" + pattern.route
        for method in ("post", "put", "patch", "delete"):
            if headers and url.endswith("/auth/session") and method == "delete":
                continue  # logging out would end the test's login
            for body in BODIES:
                response = getattr(client, method)(
                    url, body, content_type="application/json", **headers
                )
                if response.status_code >= 500:
                    failures.append((method, url, body[:30], response.status_code))
    return failures


def test_headless_never_answers_a_500(client, db):
    assert _fuzz(client, {}) == []


def test_headless_never_answers_a_500_to_a_logged_in_member(client, mai):
    token = app_login(client, email=mai.email, password=PASSWORD)
    assert _fuzz(client, {"HTTP_X_SESSION_TOKEN": token}) == []


def test_a_login_code_request_naming_nobody_is_400(client, db):
    for body in ({}, {"phone": ""}, {"email": None}, {"key": "x"}):
        response = client.post(
            "/_allauth/app/v1/auth/code/request", body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "required"


def test_deep_json_is_400_not_a_crash(client, db):
    response = client.post(
        "/_allauth/app/v1/auth/login",
        b"[" * 50_000 + b"]" * 50_000,
        content_type="application/json",
    )
    assert response.status_code == 400
