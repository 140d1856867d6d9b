"""Shared personas and markers.

Markers decide what runs where (and nothing else is ever skipped):
- ``postgres``: needs PostgreSQL; runs when DATABASE_URL points at it.
- ``worker``: needs a real broker and starts a Celery worker; runs when CELERY_BROKER_URL is set.
- ``browser``: drives Debian's Chromium; deselected by default, run by ``.ci/run``.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from members.roles import MARKETER, PROGRAM_ADMIN, STORE_MANAGER, SUPPORT
from tests.factories import MemberFactory, StoreFactory, UserFactory


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    skip_worker = pytest.mark.skip(reason="needs a broker: set CELERY_BROKER_URL=redis://...")
    for item in items:
        if item.get_closest_marker("postgres") and not _on_postgres():
            item.add_marker(skip_pg)
        if item.get_closest_marker("worker") and not os.environ.get("CELERY_BROKER_URL"):
            item.add_marker(skip_worker)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language (Vietnamese), whatever a request or
    an ``activate`` in the test before left active in this thread."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    """Each test starts with an empty in-process rules cache (``loyalty.cache``)."""
    from loyalty.cache import forget

    forget()
    yield
    forget()


@pytest.fixture
def member(db):
    return MemberFactory(full_name="Nguyễn Thị Mai", phone="0912 345 678", email="mai@example.com")


@pytest.fixture
def other_member(db):
    return MemberFactory(full_name="Trần Văn Bình", phone="0987 654 321", email="binh@example.com")


@pytest.fixture
def member_user(db):
    """A member who logs in to the portal."""
    user = UserFactory(email="lan@example.com")
    MemberFactory(user=user, full_name="Lê Thị Lan", phone="0903 123 456", email=user.email)
    user.refresh_from_db()
    return user


def _staff(role: str, email: str):
    from django.contrib.auth.models import Group

    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def totp_enrol(user, secret: str | None = None) -> str:
    """Give ``user`` an authenticator app, as superusers and Program admins must have before
    the admin lets them in (``loyalty.staff_mfa``); returns its secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = secret or generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def program_admin(db):
    user = _staff(PROGRAM_ADMIN, "admin@example.com")
    totp_enrol(user)
    return user


@pytest.fixture
def marketer(db):
    return _staff(MARKETER, "marketer@example.com")


@pytest.fixture
def store_manager(db):
    return _staff(STORE_MANAGER, "manager@example.com")


@pytest.fixture
def support(db):
    return _staff(SUPPORT, "support@example.com")


@pytest.fixture
def store(db):
    return StoreFactory(code="HCM01", name="Quận 1")


@pytest.fixture
def other_store(db):
    return StoreFactory(code="HN01", name="Hoàn Kiếm")


@pytest.fixture
def store_key(store):
    """(api_key_row, raw_key) for ``store``."""
    from pos.services import api_key_create

    return api_key_create(store=store, label="till 1")
