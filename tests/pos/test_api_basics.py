"""Authentication, the contract's error body, and the offline API docs."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from pos.services import api_key_revoke

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


def test_program_rules_need_a_store_key(client):
    response = client.get("/api/v1/pos/program/")
    assert_error(response, 401, "not_authenticated")


def test_bad_and_revoked_keys_are_401(client, store_key):
    row, raw = store_key
    assert_error(
        client.get("/api/v1/pos/program/", HTTP_AUTHORIZATION="Api-Key nope"),
        401,
        "not_authenticated",
    )
    assert_error(
        client.get("/api/v1/pos/program/", HTTP_AUTHORIZATION=f"Bearer {raw}"),
        401,
        "not_authenticated",
    )
    api_key_revoke(api_key=row)
    assert_error(
        client.get("/api/v1/pos/program/", HTTP_AUTHORIZATION=f"Api-Key {raw}"),
        401,
        "not_authenticated",
    )


def test_program_rules_with_money_as_decimal_strings(client, store_key):
    _row, raw = store_key
    response = client.get("/api/v1/pos/program/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "VND"
    assert body["timezone"] == "Asia/Ho_Chi_Minh"
    assert body["earn"] == {"per_amount": "10000", "points": 1}
    assert body["point_value"] == "100"
    assert (body["pending_days"], body["expiry_months"], body["tier_window_months"]) == (7, 12, 12)


def test_unknown_api_path_answers_with_the_error_body(client):
    assert_error(client.get("/api/v1/pos/nothing-here/"), 404, "not_found")


def test_unexpected_error_in_an_api_view_is_a_500_with_the_error_body(store_key, monkeypatch):
    _row, raw = store_key

    def explode():
        raise RuntimeError("database on fire")

    monkeypatch.setattr("pos.apis.program_cached", explode)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/pos/program/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    body = assert_error(response, 500, "server_error")
    assert "fire" not in body["error"]["message"]


def test_schema_describes_the_pos_api_and_its_key_scheme(client):
    response = client.get(reverse("api_schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/pos/program/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["in"] == "header"


def test_api_docs_are_served_without_internet(client):
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    # No asset from another host (the page also carries a random CSRF token, so look at the
    # addresses, not at any text: a token once contained "cdn").
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert assets and all(url.startswith("/") for url in assets), assets
    assert "//cdn" not in html.lower() and "unpkg" not in html and "jsdelivr" not in html
    # The assets come from the sidecar package, served by this site.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_health_checks_the_database(client):
    assert client.get("/health/").json() == {"status": "ok"}
