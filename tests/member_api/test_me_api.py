"""The member API for a mobile app: headless login, then each endpoint with the session
token; the same figures as the POS; idempotent redemption; errors in the contract's body."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.core.management import call_command

from member_api.models import MemberIdempotencyRecord
from members.models import ConsentEvent, DataRequest, PointAccount
from members.selectors import program_get
from members.services.points import points_grant
from rewards.models import Reward, Voucher
from tests.member_api.conftest import PASSWORD, AppClient, app_login
from tests.members.sms_outbox import last_code
from tests.pos.helpers import PosClient, assert_error


def _reward(**fields) -> Reward:
    values = {
        "code": "coffee",
        "kind": Reward.Kind.AMOUNT,
        "name": "Giảm 50.000 ₫",
        "name_en": "50,000 ₫ off",
        "points_cost": 100,
        "discount_amount": Decimal("50000"),
    } | fields
    return Reward.objects.create(**values)


_keys = itertools.count(1)


def _grant(member, points: int):
    points_grant(
        member=member,
        points=points,
        idempotency_key=f"test-app-{next(_keys)}",
        reason="test",
        program=program_get(),
    )


def _available(member) -> int:
    return PointAccount.objects.get(pk=member.pk).available


# ---------------------------------------------------------------- logging in


def test_login_by_email_gives_a_session_token_that_opens_the_card(client, mai):
    token = app_login(client, email=mai.email, password=PASSWORD)
    response = AppClient(client, token).get("/")
    assert response.status_code == 200
    assert response.json()["card_number"] == mai.card_number


def test_login_by_phone_and_password(client, mai):
    token = app_login(client, phone="+84912345678", password=PASSWORD)
    assert AppClient(client, token).get("/").json()["card_number"] == mai.card_number


def test_login_by_phone_and_a_code_sent_by_sms(client, mai, sms_outbox):
    response = client.post(
        "/_allauth/app/v1/auth/code/request",
        {"phone": "0912 345 678"},
        content_type="application/json",
    )
    assert response.status_code == 401, response.content  # the code flow is now pending
    token = response.json()["meta"]["session_token"]
    assert_error(AppClient(client, token).get("/"), 401, "not_authenticated")
    response = client.post(
        "/_allauth/app/v1/auth/code/confirm",
        {"code": last_code()},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"].get("session_token", token)
    assert AppClient(client, token).get("/").json()["card_number"] == mai.card_number


def test_sign_up_in_the_app_with_a_friends_code_then_open_the_card(client, mai):
    response = client.post(
        "/_allauth/app/v1/auth/signup",
        {
            "email": "new.app@example.com",
            "password": "Very-Secret-Pass-42",
            "full_name": "Phạm Văn Mới",
            "phone": "0933 222 111",
            "referral_code": mai.referral_code,
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["session_token"]
    card = AppClient(client, token).get("/").json()
    assert card["full_name"] == "Phạm Văn Mới" and card["phone"] == "+84933222111"
    assert card["card_number"] != mai.card_number
    referrals = AppClient(client, app_login(client, email=mai.email, password=PASSWORD))
    assert referrals.get("/referrals/").json()["total"] == 1


def test_logout_ends_the_token(client, mai):
    token = app_login(client, email=mai.email, password=PASSWORD)
    response = client.delete("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 401  # allauth: logged out, here are the login flows
    assert_error(AppClient(client, token).get("/"), 401, "not_authenticated")


def test_headless_login_needs_no_csrf_token_and_nor_do_writes(mai):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    token = app_login(client, email=mai.email, password=PASSWORD)
    response = AppClient(client, token).patch("/consents/", {"sms_consent": True})
    assert response.status_code == 200, response.content


def test_failed_logins_are_rate_limited(client, mai):
    for _attempt in range(5):
        response = client.post(
            "/_allauth/app/v1/auth/login",
            {"email": mai.email, "password": "wrong"},
            content_type="application/json",
        )
        assert response.status_code == 400
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": mai.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 400  # even the right password, for a while
    assert [e["code"] for e in response.json()["errors"]] == ["too_many_login_attempts"]


# ---------------------------------------------------------------- who may call


@pytest.mark.parametrize("path", ["/", "/history/", "/tier/", "/profile/", "/export/"])
def test_no_token_bad_token_cookie_or_pos_key_is_the_contract_401(client, mai, store_key, path):
    assert_error(AppClient(client, None).get(path), 401, "not_authenticated")
    response = AppClient(client, "not-a-token").get(path)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "X-Session-Token"
    assert_error(AppClient(client, "x" * 5000).get(path), 401, "not_authenticated")
    client.force_login(mai.user)  # a portal cookie is no credential here
    assert_error(AppClient(client, None).get(path), 401, "not_authenticated")
    client.logout()
    _row, raw = store_key
    response = client.get(f"/api/v1/me{path}", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert_error(response, 401, "not_authenticated")


def test_staff_token_gets_no_member_data(client, support):
    token = app_login(client, email=support.email, password=PASSWORD)
    for path in ("/", "/history/", "/rewards/", "/export/"):
        assert_error(AppClient(client, token).get(path), 403, "permission_denied")


def test_staff_with_a_second_factor_must_give_it_before_the_token_is_logged_in(
    client, program_admin
):
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": program_admin.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 401
    body = response.json()
    assert body["meta"]["is_authenticated"] is False
    assert any(f["id"] == "mfa_authenticate" and f.get("is_pending") for f in body["data"]["flows"])
    token = body["meta"]["session_token"]  # a pending login: no user yet
    assert_error(AppClient(client, token).get("/"), 401, "not_authenticated")


def test_staff_who_give_their_second_factor_still_get_no_member_data(client, db):
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    from tests.conftest import totp_enrol
    from tests.factories import UserFactory

    user = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    secret = totp_enrol(user)
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": user.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 401
    token = response.json()["meta"]["session_token"]
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": code},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"].get("session_token", token)
    assert_error(AppClient(client, token).get("/"), 403, "permission_denied")


def test_headless_answers_in_the_apps_language(client, mai):
    body = {"email": mai.email, "password": "wrong"}
    english = client.post(
        "/_allauth/app/v1/auth/login",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()["errors"][0]["message"]
    vietnamese = client.post(
        "/_allauth/app/v1/auth/login",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="vi",
    ).json()["errors"][0]["message"]
    assert english != vietnamese
    assert "password" in english.lower()


def test_throttled_per_member_with_the_contract_body(client, mai, binh, settings):
    settings.MEMBER_API_THROTTLE_RATE = "3/min"
    app = AppClient(client, app_login(client, email=mai.email, password=PASSWORD))
    for _ in range(3):
        assert app.get("/").status_code == 200
    details = assert_error(app.get("/"), 429, "throttled")
    assert details["retry_after"] >= 1
    other = AppClient(client, app_login(client, email=binh.email, password=PASSWORD))
    assert other.get("/").status_code == 200  # per member, not global


def test_throttle_fails_open_when_the_cache_is_down(app, settings, monkeypatch):
    from django.core.cache import cache

    settings.MEMBER_API_THROTTLE_RATE = "1/min"

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "add", down)
    for _ in range(3):
        assert app.get("/").status_code == 200


# ---------------------------------------------------------------- the card


def test_card_has_the_same_figures_as_the_pos_lookup(client, app, mai, store_key):
    _grant(mai, 500)
    _row, raw = store_key
    pos = PosClient(client, raw)
    purchase = pos.purchase(
        {"external_id": "R-APP-1", "member": mai.card_number, "total_amount": "1250000"}
    )
    assert purchase.status_code == 201, purchase.content
    till = pos.lookup(mai.card_number).json()
    mine = app.get("/").json()
    assert set(mine) == {
        "card_number",
        "full_name",
        "phone",
        "email",
        "tier",
        "points",
        "expiring",
        "referral_code",
    }
    for field in ("card_number", "full_name", "points", "expiring", "referral_code"):
        assert mine[field] == till[field], field
    assert mine["tier"]["code"] == till["tier"]["code"]
    assert mine["points"]["pending"] > 0
    assert mine["phone"] == "+84912345678"
    assert mine["email"] == mai.email


def test_query_strings_naming_another_member_are_ignored(app, mai, binh):
    _grant(binh, 999)
    for params in ({"member": binh.card_number}, {"card_number": binh.card_number}, {"id": 1}):
        body = app.get("/", params).json()
        assert body["card_number"] == mai.card_number
        assert body["points"]["available"] != 999


# ---------------------------------------------------------------- history


def test_history_pages_and_filters(app, mai):
    for n in range(25):
        _grant(mai, n + 1)
    page = app.get("/history/").json()
    assert page["count"] >= 25 and len(page["results"]) == 20 and page["next"]
    item = page["results"][0]
    assert isinstance(item["points"], int) and item["title"]
    assert app.get("/history/", {"page": 2}).json()["results"]
    assert app.get("/history/", {"page_size": 5}).json()["results"].__len__() == 5
    assert app.get("/history/", {"group": "spent"}).json()["count"] == 0
    earned = app.get("/history/", {"group": "earned"}).json()
    assert earned["count"] >= 25
    assert_error(app.get("/history/", {"group": "everything"}), 400, "validation_error")
    assert_error(app.get("/history/", {"page": 99}), 404, "not_found")
    assert_error(app.get("/history/", {"page": "-1"}), 404, "not_found")
    assert_error(app.get("/history/", {"page": "9" * 40}), 404, "not_found")


def _queries(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200
    return len(captured)


def test_history_and_card_read_a_fixed_number_of_queries(app, mai):
    for n in range(5):
        _grant(mai, n + 1)
    app.get("/history/"), app.get("/")  # the process caches (rules, tiers) filled
    history, card = _queries(lambda: app.get("/history/")), _queries(lambda: app.get("/"))
    for n in range(60):
        _grant(mai, n + 1)
    assert _queries(lambda: app.get("/history/")) == history
    assert _queries(lambda: app.get("/history/", {"page": 3})) == history
    assert _queries(lambda: app.get("/")) == card
    assert card <= 12 and history <= 12


def test_history_is_only_the_members_own(app, mai, binh):
    _grant(binh, 77)
    body = app.get("/history/", {"member": binh.card_number}).json()
    assert all(item["points"] != 77 for item in body["results"])


# ---------------------------------------------------------------- tier


def test_tier_progress_in_figures_and_words(client, app, mai, store_key):
    _row, raw = store_key
    pos = PosClient(client, raw)
    body = {"external_id": "R-TIER-1", "member": mai.card_number, "total_amount": "1250000"}
    assert pos.purchase(body).status_code == 201
    mine = app.get("/tier/").json()
    till = pos.get(f"/members/{mai.card_number}/tier/").json()
    assert (mine["spend"], mine["purchases"]) == (till["spend"], till["purchases"])
    assert mine["spend"] == "1250000" and mine["purchases"] == 1
    assert mine["tier"] == till["tier"]
    nxt = mine["next_tier"]
    assert nxt["code"] == till["next_tier"]["code"]
    assert Decimal(mine["spend_needed"]) == Decimal(till["spend_to_next"])
    assert mine["purchases_needed"] == till["purchases_to_next"]
    assert 0 < mine["percent"] < 100
    assert mine["by_date"] and mine["lines"]
    english = app.get("/tier/", HTTP_ACCEPT_LANGUAGE="en").json()["lines"]
    assert english != mine["lines"] and all(isinstance(line, str) for line in english)


# ---------------------------------------------------------------- rewards and redeeming


def test_rewards_say_why_not(app, mai):
    reward = _reward(points_cost=_available(mai) + 100)
    offers = app.get("/rewards/").json()
    offer = next(o for o in offers if o["id"] == reward.pk)
    assert offer["available"] is False and offer["reason"]
    assert offer["points_cost"] == reward.points_cost
    _grant(mai, 100)
    offer = next(o for o in app.get("/rewards/").json() if o["id"] == reward.pk)
    assert offer["available"] is True and offer["reason"] is None


def test_redeem_is_idempotent_by_external_id(app, mai):
    reward = _reward()
    other = _reward(code="tea", name="Trà", points_cost=50)
    _grant(mai, 300)
    before = _available(mai)
    first = app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "app-1"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["balance"]["available"] == before - 100
    assert body["voucher"]["status"] == "issued" and body["voucher"]["reward"]["id"] == reward.pk
    again = app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "app-1"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    assert _available(mai) == before - 100
    assert Voucher.objects.filter(member=mai).count() == 1
    details = assert_error(
        app.post(f"/rewards/{other.pk}/redeem/", {"external_id": "app-1"}),
        409,
        "idempotency_conflict",
    )
    assert details == {"external_id": "app-1"}


def test_a_refused_redeem_records_nothing_and_can_be_retried(app, mai):
    reward = _reward(points_cost=_available(mai) + 100)
    details = assert_error(
        app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "app-2"}),
        422,
        "insufficient_points",
    )
    assert details["requested"] == reward.points_cost
    assert not MemberIdempotencyRecord.objects.exists()
    _grant(mai, 100)
    assert app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "app-2"}).status_code == 201


def test_redeem_checks_stock_with_a_clear_error(app, mai):
    reward = _reward(stock_total=0)
    _grant(mai, 500)
    details = assert_error(
        app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "app-3"}),
        422,
        "reward_unavailable",
    )
    assert details["reason_code"] == "out_of_stock" and details["reason"]


def test_redeem_errors(app, mai):
    assert_error(app.post("/rewards/999999/redeem/", {"external_id": "x"}), 404, "not_found")
    reward = _reward()
    for body in (
        {},
        {"external_id": ""},
        {"external_id": ["a"]},
        {"external_id": {"a": 1}},
        {"external_id": "x" * 65},
        {"external_id": "a\x00b"},
        {"external_id": None},
        [],
        "text",
    ):
        assert_error(app.post(f"/rewards/{reward.pk}/redeem/", body), 400, "validation_error")
    assert_error(app.get(f"/rewards/{reward.pk}/redeem/"), 405, "method_not_allowed")


def test_an_external_id_is_per_member(client, app, mai, binh):
    reward = _reward()
    _grant(mai, 100)
    _grant(binh, 100)
    assert app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "same"}).status_code == 201
    theirs = AppClient(client, app_login(client, email=binh.email, password=PASSWORD))
    response = theirs.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "same"})
    assert response.status_code == 201
    assert response.json()["voucher"]["code"] != Voucher.objects.get(member=mai).code


# ---------------------------------------------------------------- vouchers, referrals, messages


def test_vouchers_are_the_members_own(client, app, mai, binh):
    reward = _reward()
    _grant(binh, 100)
    theirs = AppClient(client, app_login(client, email=binh.email, password=PASSWORD))
    theirs.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "b-1"})
    assert app.get("/vouchers/", {"member": binh.card_number}).json()["count"] == 0
    _grant(mai, 100)
    app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "m-1"})
    page = app.get("/vouchers/").json()
    assert page["count"] == 1
    voucher = page["results"][0]
    assert voucher["code"] == Voucher.objects.get(member=mai).code
    assert voucher["discount"]["amount"] == "50000"


def test_referrals(app, mai):
    body = app.get("/referrals/").json()
    assert body["referral_code"] == mai.referral_code
    assert body["share_url"].endswith(f"ref={mai.referral_code}")
    assert body["referrals"] == [] and body["total"] == 0


def _notification(member, n: int):
    from campaigns.models import Campaign, Notification, Send

    campaign = Campaign.objects.order_by("pk").first()
    send = Send.objects.create(campaign=campaign, member=member, occurrence=f"app-{n}")
    return Notification.objects.create(member=member, send=send, title=f"Tin {n}", body="Chào")


def test_notifications_are_the_members_own_and_are_marked_read(app, mai, binh):
    assert app.get("/notifications/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    mine = [_notification(mai, 1), _notification(mai, 2)]
    theirs = _notification(binh, 3)
    page = app.get("/notifications/", {"member": binh.card_number}).json()
    assert [n["id"] for n in page["results"]] == [mine[1].pk, mine[0].pk]
    assert all(n["read_at"] is None for n in page["results"])
    read = app.post(f"/notifications/{mine[0].pk}/read/", {})
    assert read.status_code == 200 and read.json()["read_at"]
    assert_error(app.post(f"/notifications/{theirs.pk}/read/", {}), 404, "not_found")
    assert_error(app.post("/notifications/999999/read/", {}), 404, "not_found")
    assert_error(app.post(f"/notifications/{2**63}/read/", {}), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert app.post("/notifications/read/", {}).json() == {"marked": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None


# ---------------------------------------------------------------- profile and consents


def test_profile_update_uses_the_portals_rules(app, mai, binh):
    response = app.patch(
        "/profile/",
        {"occupation": "Kỹ sư", "language": "en", "card_number": "0", "id": binh.pk},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["occupation"] == "Kỹ sư" and body["language"] == "en"
    mai.refresh_from_db()
    assert (mai.occupation, mai.language) == ("Kỹ sư", "en")
    binh.refresh_from_db()
    assert binh.occupation != "Kỹ sư"
    details = assert_error(app.patch("/profile/", {"full_name": "  "}), 400, "validation_error")
    assert "full_name" in details
    details = assert_error(app.patch("/profile/", {"full_name": 7}), 400, "validation_error")
    assert "full_name" in details
    details = assert_error(app.patch("/profile/", {"gender": "robot"}), 400, "validation_error")
    assert "gender" in details
    details = assert_error(
        app.patch("/profile/", {"birth_date": "2026-02-30"}), 400, "validation_error"
    )
    assert "birth_date" in details


def test_profile_does_not_change_the_phone_which_needs_a_code(app, mai, binh):
    """The phone logs in: a new one goes through allauth's account/phone and its code."""
    for phone in ("0903 111 222", "0987 654 321", "12", None):
        details = assert_error(
            app.patch("/profile/", {"phone": phone, "occupation": "x"}), 400, "validation_error"
        )
        assert "account/phone" in details["phone"][0]
    mai.refresh_from_db()
    assert mai.phone == "+84912345678" and mai.occupation != "x"


def test_profile_clears_optional_fields_with_null(app, mai):
    assert app.patch("/profile/", {"occupation": "Kỹ sư"}).json()["occupation"] == "Kỹ sư"
    assert app.patch("/profile/", {"occupation": None}).json()["occupation"] is None


def test_consents_are_recorded_from_the_app(app, mai):
    response = app.patch("/consents/", {"email_consent": True, "sms_consent": False})
    assert response.status_code == 200
    body = response.json()
    assert body["email_consent"] is True and body["sms_consent"] is False
    event = ConsentEvent.objects.get(member=mai, channel="email")
    assert event.granted and event.source == ConsentEvent.Source.APP == "app"
    assert body["history"][0]["source"] == "app"
    assert app.patch("/consents/", {"email_consent": False}).json()["email_consent"] is False
    for bad in ({"email_consent": "yes"}, {"sms_consent": 1}, {"sms_consent": None}):
        details = assert_error(app.patch("/consents/", bad), 400, "validation_error")
        assert set(details) == set(bad)


# ---------------------------------------------------------------- the data download


def test_export_is_the_members_own_data(app, mai, binh):
    response = app.get("/export/", {"member": binh.card_number})
    body = response.json()
    assert body["profile"]["card_number"] == mai.card_number
    assert binh.card_number not in str(body)
    assert response["Cache-Control"] == "private, no-store"
    # Recorded as the member's own request through the app; nothing for the other member.
    requests = DataRequest.objects.filter(member_id__in=(mai.pk, binh.pk))
    assert list(requests.values_list("member_id", "kind", "channel", "acting_user")) == [
        (mai.pk, "export", "api", None)
    ]


def test_an_erased_members_token_stops_working_and_their_replays_go(app, mai):
    from members.services.privacy import member_erase

    reward = _reward()
    _grant(mai, 100)
    assert app.post(f"/rewards/{reward.pk}/redeem/", {"external_id": "e-1"}).status_code == 201
    member_erase(member=mai, acting_user=None, channel="portal")
    assert_error(app.get("/"), 401, "not_authenticated")
    assert not MemberIdempotencyRecord.objects.filter(member_id=mai.pk).exists()


# ---------------------------------------------------------------- language


def test_texts_in_the_members_language_or_accept_language(app, mai):
    reward = _reward()
    offer = next(o for o in app.get("/rewards/").json() if o["id"] == reward.pk)
    assert offer["name"] == "Giảm 50.000 ₫"
    offer = next(
        o for o in app.get("/rewards/", HTTP_ACCEPT_LANGUAGE="en").json() if o["id"] == reward.pk
    )
    assert offer["name"] == "50,000 ₫ off"
    app.patch("/profile/", {"language": "en"})
    offer = next(o for o in app.get("/rewards/").json() if o["id"] == reward.pk)
    assert offer["name"] == "50,000 ₫ off"


# ---------------------------------------------------------------- the schema


def test_schema_documents_the_member_api(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert schema["components"]["securitySchemes"]["SessionToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Session-Token",
        "description": schema["components"]["securitySchemes"]["SessionToken"]["description"],
    }
    for path in (
        "/api/v1/me/",
        "/api/v1/me/history/",
        "/api/v1/me/tier/",
        "/api/v1/me/rewards/",
        "/api/v1/me/rewards/{reward_id}/redeem/",
        "/api/v1/me/vouchers/",
        "/api/v1/me/referrals/",
        "/api/v1/me/notifications/",
        "/api/v1/me/notifications/{id}/read/",
        "/api/v1/me/notifications/read/",
        "/api/v1/me/profile/",
        "/api/v1/me/consents/",
        "/api/v1/me/export/",
    ):
        for operation in schema["paths"][path].values():
            assert operation["tags"] == ["Member"]
            assert operation["security"] == [{"SessionToken": []}]
            assert {"401", "403", "429"} <= set(operation["responses"])
    redeem = schema["paths"]["/api/v1/me/rewards/{reward_id}/redeem/"]["post"]
    assert {"400", "404", "409", "422"} <= set(redeem["responses"])
    assert "patch" in schema["paths"]["/api/v1/me/profile/"]


def test_schema_validates(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
