"""Helpers for the POS API tests: a client that carries a store's key, the error-body check,
and the frozen "now" the tests run at."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
# 10:00 in Hồ Chí Minh City (03:00 UTC), a Tuesday.
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=HCM)

BASE = "/api/v1/pos"


def assert_error(response, status: int, code: str) -> dict:
    """The contract's error body with ``code``; returns its ``details``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]["details"]


class PosClient:
    """The Django test client speaking the POS API with one store's key."""

    def __init__(self, client, raw_key: str):
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": f"Api-Key {raw_key}"}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"{BASE}{path}", params or {}, **self.auth)

    def post(self, path: str, body: dict):
        return self.client.post(f"{BASE}{path}", body, content_type="application/json", **self.auth)

    def purchase(self, body: dict):
        return self.post("/transactions/", body)

    def quote(self, body: dict):
        return self.post("/quote/", body)

    def give_back(self, purchase_external_id: str, body: dict):
        return self.post(f"/transactions/{purchase_external_id}/returns/", body)

    def lookup(self, q: str):
        return self.get("/members/lookup", {"q": q})

    def enrol(self, body: dict):
        return self.post("/members/", body)
