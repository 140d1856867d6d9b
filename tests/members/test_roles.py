import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal

from members.roles import (
    MARKETER,
    PROGRAM_ADMIN,
    ROLE_PERMISSIONS,
    STORE_MANAGER,
    SUPPORT,
    roles_sync,
)

pytestmark = pytest.mark.django_db


def test_migrate_creates_one_group_per_role():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_PERMISSIONS)


def test_program_admin_manages_members_and_stores(program_admin):
    assert program_admin.has_perm("members.change_member")
    assert program_admin.has_perm("members.block_member")
    assert program_admin.has_perm("members.change_program")
    assert program_admin.has_perm("members.add_store")
    assert program_admin.has_perm("pos.change_storeapikey")
    assert not program_admin.is_superuser


def test_marketer_reads_members_but_cannot_block_or_adjust_points(marketer):
    assert marketer.has_perm("members.view_member")
    assert not marketer.has_perm("members.change_member")
    assert not marketer.has_perm("members.block_member")
    assert not marketer.has_perm("members.adjust_points")
    assert not marketer.has_perm("members.change_program")


def test_store_manager_edits_profiles_but_not_programme_rules(store_manager):
    assert store_manager.has_perm("members.change_member")
    assert store_manager.has_perm("members.view_purchase")
    assert not store_manager.has_perm("members.block_member")
    assert not store_manager.has_perm("members.change_program")
    assert not store_manager.has_perm("pos.view_storeapikey")


def test_support_blocks_and_adjusts_points_but_not_programme_rules(support):
    assert support.has_perm("members.block_member")
    assert support.has_perm("members.adjust_points")
    assert support.has_perm("members.view_auditentry")
    assert not support.has_perm("members.change_program")
    assert not support.has_perm("members.delete_member")


def test_sync_restores_a_role_someone_edited_by_hand():
    group = Group.objects.get(name=SUPPORT)
    group.permissions.clear()
    roles_sync()
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"block_member", "adjust_points", "view_member"} <= codenames


def test_sync_is_idempotent_and_runs_after_every_migrate():
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after
    assert before[PROGRAM_ADMIN] and before[MARKETER] and before[STORE_MANAGER]


def test_marketers_build_campaigns_but_only_programme_admins_approve_large_ones(
    marketer, program_admin
):
    assert marketer.has_perm("campaigns.add_campaign")
    assert not marketer.has_perm("campaigns.approve_campaign")
    assert program_admin.has_perm("campaigns.approve_campaign")
