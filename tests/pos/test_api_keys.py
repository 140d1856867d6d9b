from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from members.models import AuditEntry, Store
from pos.models import StoreApiKey
from pos.selectors import api_key_authenticate
from pos.services import api_key_revoke

pytestmark = pytest.mark.django_db


def test_key_is_stored_only_as_a_keyed_hash(store_key):
    row, raw = store_key
    assert raw.startswith(f"lk_{row.prefix}_")
    assert len(raw) > 40
    stored = StoreApiKey.objects.filter(pk=row.pk).values_list("key_hash", flat=True).get()
    assert raw not in stored and len(stored) == 64
    assert api_key_authenticate(raw) == row
    assert api_key_authenticate(raw).store.code == "HCM01"


def test_wrong_or_revoked_key_authenticates_nobody(store_key):
    row, raw = store_key
    assert api_key_authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert api_key_authenticate("") is None
    api_key_revoke(api_key=row)
    assert api_key_authenticate(raw) is None
    assert AuditEntry.objects.filter(action="pos.api_key_revoked").count() == 1
    api_key_revoke(api_key=row)
    assert AuditEntry.objects.filter(action="pos.api_key_revoked").count() == 1


def test_key_survives_secret_rotation_through_the_fallbacks(store_key, settings):
    _row, raw = store_key
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "n" * 64
    assert api_key_authenticate(raw) is None
    settings.SECRET_KEY_FALLBACKS = [old]
    assert api_key_authenticate(raw) is not None


def test_create_store_is_idempotent():
    out = StringIO()
    call_command("create_store", "hcm02", "--name", "Quận 3", stdout=out)
    call_command("create_store", "HCM02", "--name", "Quận 3 (mới)", stdout=out)
    store = Store.objects.get()
    assert (store.code, store.name) == ("HCM02", "Quận 3 (mới)")
    assert "created" in out.getvalue() and "updated" in out.getvalue()


def test_create_store_refuses_a_bad_code():
    with pytest.raises(CommandError):
        call_command("create_store", "HCM 02!", "--name", "X")
    assert not Store.objects.exists()


def test_create_api_key_prints_the_key_alone_on_the_last_line(store):
    out = StringIO()
    call_command("create_api_key", "hcm01", stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("lk_") and " " not in last
    assert api_key_authenticate(last).store == store


def test_create_api_key_for_unknown_store_fails():
    with pytest.raises(CommandError):
        call_command("create_api_key", "NOPE")
    assert not StoreApiKey.objects.exists()
