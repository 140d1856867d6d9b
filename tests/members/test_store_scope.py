"""A store manager sees and acts on the purchases, returns and figures of the stores they
work for only; members stay findable chain-wide; a programme admin sees every store."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from members.models import PointEntry, PurchaseReturn
from members.roles import PROGRAM_ADMIN
from members.selectors import staff_store_ids
from tests.conftest import totp_enrol
from tests.factories import PurchaseFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchases(store, other_store, member, other_member):
    """One purchase and one return at each store, by different members."""
    mine = PurchaseFactory(store=store, member=member, external_id="A-0001")
    theirs = PurchaseFactory(store=other_store, member=other_member, external_id="B-0001")
    returns = {
        purchase: PurchaseReturn.objects.create(
            purchase=purchase,
            store=purchase.store,
            external_id=f"RET-{purchase.external_id}",
            amount=Decimal("1000"),
        )
        for purchase in (mine, theirs)
    }
    return mine, theirs, returns[mine], returns[theirs]


@pytest.fixture
def manager_of_a(client, store_manager, store):
    store_manager.stores.add(store)
    client.force_login(store_manager)
    return store_manager


def listed(client, url_name, **params):
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_selector_says_which_stores(store_manager, program_admin, store, other_store):
    assert staff_store_ids(store_manager) == set()
    store_manager.stores.add(store)
    store_manager._staff_store_ids = False  # the selector keeps its answer on the user
    assert staff_store_ids(store_manager) == {store.pk}
    program_admin.stores.add(store)
    assert staff_store_ids(program_admin) is None


def test_store_manager_lists_their_stores_purchases_and_returns_only(
    client, manager_of_a, purchases
):
    mine, _theirs, my_return, _their_return = purchases
    assert listed(client, "admin:members_purchase_changelist") == [mine]
    assert listed(client, "admin:members_purchasereturn_changelist") == [my_return]


def test_another_stores_purchase_and_return_are_not_found(client, manager_of_a, purchases):
    mine, theirs, my_return, their_return = purchases
    for name, obj in [
        ("members_purchase", mine),
        ("members_purchasereturn", my_return),
    ]:
        assert client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200
        assert client.get(reverse(f"admin:{name}_history", args=[obj.pk])).status_code == 200
    for name, obj in [
        ("members_purchase", theirs),
        ("members_purchasereturn", their_return),
    ]:
        assert client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 404
        assert client.get(reverse(f"admin:{name}_history", args=[obj.pk])).status_code == 404


def test_search_does_not_reach_another_store(client, manager_of_a, purchases, other_member):
    _mine, theirs, _my_return, _their_return = purchases
    for term in [theirs.external_id, other_member.phone, other_member.card_number]:
        assert listed(client, "admin:members_purchase_changelist", q=term) == []
    assert listed(client, "admin:members_purchasereturn_changelist", q=theirs.external_id) == []


def test_store_filter_offers_and_shows_their_stores_only(
    client, manager_of_a, purchases, store, other_store
):
    mine, _theirs, _my_return, _their_return = purchases
    third = StoreFactory(code="DN01", name="Hải Châu")
    manager_of_a.stores.add(third)  # the filter shows when there are two stores to choose
    response = client.get(reverse("admin:members_purchase_changelist"))
    store_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.field_path == "store"
    )
    assert {pk for pk, _label in store_filter.lookup_choices} == {store.pk, third.pk}
    # Asking for the other store by hand finds nothing, not its purchases.
    assert (
        listed(client, "admin:members_purchase_changelist", store__id__exact=other_store.pk) == []
    )
    assert listed(client, "admin:members_purchase_changelist", store__id__exact=store.pk) == [mine]


def test_store_list_and_point_entries_follow_the_stores(client, manager_of_a, purchases, store):
    mine, theirs, _my_return, _their_return = purchases
    assert listed(client, "admin:members_store_changelist") == [store]
    assert (
        client.get(reverse("admin:members_store_change", args=[theirs.store_id])).status_code == 404
    )
    # The scope of rows reached through a purchase (the admin shows these to roles that
    # hold the permission; the rule is the same).
    from members.admin import PointEntryAdmin
    from members.models import Member

    mine_entry = PointEntry.objects.create(
        member=mine.member, kind="earn", available_delta=10, purchase=mine
    )
    theirs_entry = PointEntry.objects.create(
        member=theirs.member, kind="earn", available_delta=10, purchase=theirs
    )
    adjustment = PointEntry.objects.create(
        member=theirs.member, kind="adjust", available_delta=5, reason="goodwill"
    )
    request = RequestFactory().get("/")
    request.user = manager_of_a
    seen = set(PointEntryAdmin(PointEntry, admin.site).get_queryset(request))
    assert mine_entry in seen and adjustment in seen and theirs_entry not in seen
    assert Member.objects.count() == 2  # the adjustment's member is not hidden, only rows


def test_members_stay_findable_chain_wide(client, manager_of_a, purchases, other_member):
    found = listed(client, "admin:members_member_changelist", q=other_member.phone)
    assert found == [other_member]
    url = reverse("admin:members_member_change", args=[other_member.pk])
    assert client.get(url).status_code == 200


def test_store_manager_without_stores_sees_none(client, store_manager, purchases):
    client.force_login(store_manager)
    assert listed(client, "admin:members_purchase_changelist") == []
    assert listed(client, "admin:members_purchasereturn_changelist") == []
    assert listed(client, "admin:members_store_changelist") == []
    mine = purchases[0]
    assert client.get(reverse("admin:members_purchase_change", args=[mine.pk])).status_code == 404
    # The members are there all the same.
    assert len(listed(client, "admin:members_member_changelist")) == 2


def test_program_admin_sees_every_store(client, program_admin, purchases, store):
    program_admin.stores.add(store)  # a programme admin working for one store still sees all
    client.force_login(program_admin)
    mine, theirs, my_return, their_return = purchases
    assert set(listed(client, "admin:members_purchase_changelist")) == {mine, theirs}
    assert set(listed(client, "admin:members_purchasereturn_changelist")) == {
        my_return,
        their_return,
    }
    url = reverse("admin:members_purchase_change", args=[theirs.pk])
    assert client.get(url).status_code == 200


def test_store_manager_who_is_also_program_admin_sees_every_store(client, manager_of_a, purchases):
    manager_of_a.groups.add(Group.objects.get(name=PROGRAM_ADMIN))
    totp_enrol(manager_of_a)  # the admin asks Program admins for a second factor
    assert len(listed(client, "admin:members_purchase_changelist")) == 2


def test_superuser_sees_every_store(purchases):
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    assert staff_store_ids(boss) is None
