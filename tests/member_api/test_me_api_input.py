"""What a member's token can and cannot reach, and malformed input: every endpoint answers
the contract's error body (never a 500, never an HTML page), and another member's ids in a
query string or a body change nothing."""

from __future__ import annotations

import json

import pytest

from members.models import Member
from rewards.models import Reward, Voucher
from tests.member_api.conftest import BASE, PASSWORD, AppClient, app_login

GETS = [
    "/",
    "/history/",
    "/tier/",
    "/rewards/",
    "/vouchers/",
    "/referrals/",
    "/notifications/",
    "/profile/",
    "/consents/",
    "/export/",
]
WRITES = [
    ("patch", "/profile/"),
    ("patch", "/consents/"),
    ("post", "/rewards/{reward}/redeem/"),
]


@pytest.fixture
def reward(db):
    return Reward.objects.create(
        code="gift", kind=Reward.Kind.AMOUNT, name="Quà", points_cost=10, discount_amount=1000
    )


def _error_body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def _theirs(member: Member) -> list[str]:
    """What of ``member`` must never show in someone else's answer."""
    return [member.card_number, member.phone, member.email, member.referral_code]


# ---------------------------------------------------------------- another member's ids


@pytest.mark.parametrize("path", GETS)
def test_another_members_ids_in_the_query_are_ignored(app, mai, binh, path):
    query = {"member": binh.card_number, "card_number": binh.card_number, "id": binh.pk}
    response = app.get(path, query)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    for value in _theirs(binh):
        assert value not in text, (path, value)
    if path in ("/", "/profile/", "/export/"):
        assert mai.phone in text


@pytest.mark.parametrize("method,path", WRITES)
def test_another_members_ids_in_a_body_are_ignored(app, mai, binh, reward, method, path):
    body = {
        "member": binh.card_number,
        "card_number": binh.card_number,
        "id": binh.pk,
        "member_id": binh.pk,
        "external_id": "cross-1",
    }
    response = getattr(app, method)(path.format(reward=reward.pk), body)
    assert response.status_code in (200, 201, 422), response.content
    text = response.content.decode()
    for value in _theirs(binh):
        assert value not in text
    assert not Voucher.objects.filter(member=binh).exists()
    assert binh.consent_events.count() == 0
    binh.refresh_from_db()
    assert binh.phone == "+84987654321"


def test_a_staff_users_member_row_is_still_refused(client, support):
    """Staff who happen to be members too (an employee's own card) read it in the portal,
    not through a token that is also a staff login."""
    from tests.factories import MemberFactory

    MemberFactory(user=support, full_name="Nhân Viên", email=support.email)
    token = app_login(client, email=support.email, password=PASSWORD)
    for path in GETS:
        error = _error_body(AppClient(client, token).get(path))
        assert error["code"] == "permission_denied"


# ---------------------------------------------------------------- malformed input

MALFORMED = [
    b"{",
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b'{"external_id": NaN}',
    b'{"full_name": Infinity}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"external_id": 1e400, "phone": 123456789012345678901234567890}',
    b'{"full_name": "\\ud800", "phone": "\\u0000"}',
    '{"full_name": "👩‍👩‍👧 ‮عربى", "occupation": "ﷺ"}'.encode(),
    b'{"email_consent": [true], "sms_consent": {"x": 1}}',
    b'{"birth_date": 20260101, "gender": ["female"], "language": "xx"}',
    b"\xff\xfe\x00",
]


@pytest.mark.parametrize("method,path", WRITES)
def test_malformed_bodies_are_a_contract_error_never_a_500(app, reward, method, path):
    for data in MALFORMED:
        response = app.raw(method, path.format(reward=reward.pk), data)
        assert response.status_code < 500, (data[:40], response.content)
        if response.status_code >= 400:
            error = _error_body(response)
            assert response.status_code in (400, 404, 409, 422), (data[:40], error)
        else:  # a body that is valid after all (unicode text, say): nothing else went wrong
            assert response.status_code in (200, 201), data[:40]


@pytest.mark.parametrize("method,path", WRITES)
def test_not_json_is_415_and_too_large_is_413(app, reward, method, path):
    url = path.format(reward=reward.pk)
    response = app.raw(method, url, "a=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and _error_body(response)["code"] == "validation_error"
    big = json.dumps({"full_name": "x" * (1024 * 1024 + 10)})
    response = app.raw(method, url, big)
    assert response.status_code == 413 and _error_body(response)["code"] == "payload_too_large"


@pytest.mark.parametrize("path", GETS)
def test_methods_that_are_not_served_are_405(app, path):
    for method in ("put", "delete", "post"):
        if path in ("/profile/", "/consents/") and method == "post":
            continue
        response = getattr(app.client, method)(f"{BASE}{path}", **app.headers)
        assert response.status_code == 405, (method, path)
        assert _error_body(response)["code"] == "method_not_allowed"


def test_get_of_redeem_is_405_and_a_huge_reward_id_is_404(app):
    response = app.get("/rewards/1/redeem/")
    assert response.status_code == 405
    response = app.post("/rewards/" + "9" * 30 + "/redeem/", {"external_id": "huge"})
    assert response.status_code == 404 and _error_body(response)["code"] == "not_found"
    response = app.post(f"/rewards/{2**63}/redeem/", {"external_id": "huge2"})
    assert response.status_code == 404


def test_an_unknown_path_under_the_api_is_a_json_404(app):
    response = app.get("/nope/")
    assert response.status_code == 404 and _error_body(response)["code"] == "not_found"


MALFORMED_QUERIES = [
    {"page": "abc"},
    {"page": "0"},
    {"page": "1e9"},
    {"page": "\uff19"},  # a full-width digit
    {"page_size": "-5"},
    {"page_size": "\u00b2"},  # a superscript two: a digit to str.isdigit, not to int()
    {"page": "\u00b2"},
    {"page": "\u0663"},  # an Arabic-Indic three
    {"page_size": "99999999999999"},
    {"group": "\x00"},
    {"group": "earned" * 1000},
]


@pytest.mark.parametrize("path", ["/history/", "/vouchers/", "/notifications/"])
def test_malformed_query_strings(app, path):
    for params in MALFORMED_QUERIES:
        response = app.get(path, params)
        assert response.status_code in (200, 400, 404), (params, response.content)
        if response.status_code != 200:
            _error_body(response)


def test_a_token_that_is_not_ascii_or_huge_is_401(client, mai):
    for token in ("токен", "a" * 10_000, "\t", "x\x7f"):
        response = client.get(f"{BASE}/", HTTP_X_SESSION_TOKEN=token)
        assert response.status_code == 401
        assert _error_body(response)["code"] == "not_authenticated"
