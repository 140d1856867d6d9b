import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from members.identifiers import card_number_is_valid, phone_normalize
from members.models import AuditEntry, ConsentEvent, Member, Program, Purchase, Store, User
from members.selectors import program_get
from pos.management.commands.seed_demo import (
    MEMBER_LOGIN,
    STAFF,
    demo_api_key,
    demo_password,
)
from pos.models import StoreApiKey
from pos.selectors import api_key_authenticate

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"lk_demo0001_[0-9a-f]{40}")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # The command and the checks below hash the demo password; PBKDF2 would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict:
    counts = {
        model.__name__: model.objects.count()
        for model in (Store, Member, User, Purchase, StoreApiKey, ConsentEvent, AuditEntry)
    }
    counts["group memberships"] = User.groups.through.objects.count()
    counts["passwords"] = sorted(User.objects.values_list("password", flat=True))
    counts["keys"] = sorted(StoreApiKey.objects.values_list("key_hash", "revoked_at"))
    return counts


def test_seed_demo_builds_a_usable_demo_programme(debug):
    output = seed()

    assert program_get().name == "Demo Coffee"
    stores = {store.code: store for store in Store.objects.all()}
    assert sorted(stores) == ["HCM01", "HN01"]
    assert stores["HCM01"].name == "Demo Coffee Quận 1"
    assert stores["HCM01"].province == "ho-chi-minh"
    assert stores["HCM01"].address
    assert stores["HN01"].province == "ha-noi"

    members = list(Member.objects.all())
    assert 190 <= len(members) <= 210
    assert all(card_number_is_valid(member.card_number) for member in members)
    assert all(phone_normalize(member.phone) == member.phone for member in members)
    assert all(member.phone.startswith("+84") for member in members)
    assert {m.email.split("@")[1] for m in members if m.email} == {"example.com", "demo.local"}
    assert {m.enrolled_via for m in members} == {"pos", "portal"}
    assert len({m.province for m in members}) > 3

    password = demo_password()
    assert password in output
    for email, _name, _role, group in STAFF:
        user = User.objects.get(email=email)
        assert user.is_staff
        assert user.is_superuser == (group is None)
        assert list(user.groups.values_list("name", flat=True)) == ([group] if group else [])
        assert user.check_password(password)
    assert authenticate(username="support@demo.local", password=password) is not None
    assert authenticate(username="support@demo.local", password="wrong") is None

    demo_user = User.objects.get(email=MEMBER_LOGIN)
    assert not demo_user.is_staff
    assert demo_user.check_password(password)
    assert demo_user.member.full_name == "Nguyễn Thị Demo"
    assert demo_user.member.card_number_display in output


def test_purchases_cover_about_a_year_and_none_is_in_the_future(debug):
    seed(quiet=True)
    now = timezone.now()

    purchases = list(Purchase.objects.select_related("member", "store"))
    assert len(purchases) > 1000
    assert max(p.occurred_at for p in purchases) <= now
    oldest = min(p.occurred_at for p in purchases)
    assert now - timedelta(days=366) <= oldest <= now - timedelta(days=330)
    for purchase in purchases:
        assert purchase.occurred_at >= purchase.member.joined_at
        assert purchase.external_id.startswith(f"DEMO-{purchase.member.card_number}-")
        assert purchase.total_amount == purchase.amount_due
        assert 30_000 <= purchase.total_amount <= 2_000_000
        assert purchase.total_amount % 1000 == 0
    assert {p.store.code for p in purchases} == {"HCM01", "HN01"}
    assert Member.objects.filter(purchases__isnull=True).exists()


def test_second_run_adds_nothing_and_prints_the_same_logins_and_key(debug):
    first = seed()
    before = snapshot()

    second = seed(quiet=True)

    assert snapshot() == before
    assert second.strip() in first  # --quiet prints the same block, and only it
    assert second.lstrip().startswith("=")
    keys = set(KEY_PATTERN.findall(first)) | set(KEY_PATTERN.findall(second))
    assert keys == {demo_api_key()}
    api_key = api_key_authenticate(demo_api_key())
    assert api_key is not None
    assert api_key.store.code == "HCM01"


def test_a_run_repairs_the_demo_key_and_password_after_a_secret_change(debug):
    seed(quiet=True)
    StoreApiKey.objects.update(revoked_at=timezone.now())
    admin = User.objects.get(email="admin@demo.local")
    admin.set_password("changed in the admin")
    admin.save()
    debug.SECRET_KEY = "another-secret-" + "x" * 50
    members = Member.objects.count()

    output = seed(quiet=True)

    assert demo_api_key() in output
    assert api_key_authenticate(demo_api_key()).store.code == "HCM01"
    assert StoreApiKey.objects.count() == 1
    admin.refresh_from_db()
    assert admin.check_password(demo_password())
    assert Member.objects.count() == members


def test_refuses_to_run_with_debug_off_unless_allowed(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--allow-production"):
        seed()
    assert not Member.objects.exists()
    assert Program.objects.get().name != "Demo Coffee"

    seed(allow_production=True, quiet=True)
    assert Member.objects.exists()


def test_a_missing_role_group_stops_the_run_without_writing(debug):
    Group.objects.filter(name=STAFF[1][3]).delete()

    with pytest.raises(CommandError, match="migrate"):
        seed()
    assert not Store.objects.exists()


def test_demo_history_earns_points_through_the_ledger(settings):
    from members.models import PointAccount
    from members.selectors import ledger_discrepancies

    settings.DEBUG = True
    call_command("seed_demo", "--quiet", stdout=StringIO())
    accounts = PointAccount.objects.all()
    assert accounts.filter(available__gt=0).count() > 100
    assert accounts.filter(pending__gt=0).exists()  # purchases of the last week are pending
    assert ledger_discrepancies() == []
