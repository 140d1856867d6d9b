"""The mobile app's side: log in through allauth's headless app API, then call /api/v1/me/
with the session token."""

from __future__ import annotations

import pytest

from members.models import Member
from tests.factories import MemberFactory, UserFactory
from tests.members.sms_outbox import sms_outbox  # noqa: F401 (login codes by SMS)

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
LOGIN = "/_allauth/app/v1/auth/login"
BASE = "/api/v1/me"


def app_login(client, **credentials) -> str:
    """The session token of a headless login (``credentials``: email/phone and password)."""
    response = client.post(LOGIN, credentials, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    return body["meta"]["session_token"]


class AppClient:
    """The Django test client speaking the member API with one session token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.headers = {"HTTP_X_SESSION_TOKEN": token} if token else {}

    def get(self, path: str = "/", params: dict | None = None, **extra):
        return self.client.get(f"{BASE}{path}", params or {}, **self.headers, **extra)

    def post(self, path: str, body, **extra):
        return self.client.post(
            f"{BASE}{path}", body, content_type="application/json", **self.headers, **extra
        )

    def patch(self, path: str, body, **extra):
        return self.client.patch(
            f"{BASE}{path}", body, content_type="application/json", **self.headers, **extra
        )

    def raw(self, method: str, path: str, data: bytes | str, content_type="application/json"):
        return getattr(self.client, method)(
            f"{BASE}{path}", data, content_type=content_type, **self.headers
        )


def make_member_user(email: str, phone: str, full_name: str) -> Member:
    user = UserFactory(email=email)
    return MemberFactory(user=user, full_name=full_name, phone=phone, email=email)


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    """A fast hasher: these tests make and log in many users (the hasher is not what they
    test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth's login limits and the API's throttle count in the cache: each test starts
    with none spent (the tests log in from one address, many times a minute)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mai(db):
    """A member who uses the app."""
    return make_member_user("mai.app@example.com", "0912 345 678", "Nguyễn Thị Mai")


@pytest.fixture
def binh(db):
    """Another member, whose data Mai must never reach."""
    return make_member_user("binh.app@example.com", "0987 654 321", "Trần Văn Bình")


@pytest.fixture
def app(client, mai) -> AppClient:
    return AppClient(client, app_login(client, email=mai.email, password=PASSWORD))
