"""Staff setting a tier by hand (reason, lock, history, audit) and a member's progress."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from loyalty.errors import DomainError
from members.models import AuditEntry
from tests.tiers.test_recalculate import TODAY, buy, recalc, tier, tier_code
from tiers.models import MemberTier, TierChange
from tiers.selectors import tier_progress
from tiers.services import tier_set_manually

pytestmark = pytest.mark.django_db


def test_staff_set_a_tier_by_hand_with_a_reason_recorded_in_history_and_audit(
    member, program_admin
):
    tier_set_manually(
        member=member,
        tier=tier("gold"),
        reason="Corporate partner",
        acting_user=program_admin,
        locked_until=date(2027, 6, 1),
        today=TODAY,
    )
    status = MemberTier.objects.get(member=member)
    assert (status.tier.code, status.since, status.locked_until) == (
        "gold",
        TODAY,
        date(2027, 6, 1),
    )
    assert status.retained_until == date(2027, 11, 30)
    change = TierChange.objects.get(member=member)
    assert (change.reason, change.actor, change.note) == (
        "manual",
        program_admin,
        "Corporate partner",
    )
    audit = AuditEntry.objects.get(member=member, action="tier.set_manually")
    assert audit.actor == program_admin and audit.reason == "Corporate partner"


def test_a_manual_tier_without_reason_or_permission_changes_nothing(
    member, program_admin, marketer
):
    with pytest.raises(ValidationError):
        tier_set_manually(member=member, tier=tier("gold"), reason=" ", acting_user=program_admin)
    with pytest.raises(DomainError) as exc:
        tier_set_manually(member=member, tier=tier("gold"), reason="x", acting_user=marketer)
    assert exc.value.code == "permission_denied"
    with pytest.raises(ValidationError):
        tier_set_manually(
            member=member,
            tier=tier("gold"),
            reason="x",
            acting_user=program_admin,
            locked_until=TODAY,
            today=TODAY,
        )
    assert not MemberTier.objects.exists() and not TierChange.objects.exists()


def test_the_nightly_job_respects_the_lock_until_it_ends(member, program_admin):
    tier_set_manually(
        member=member,
        tier=tier("gold"),
        reason="Complaint goodwill",
        acting_user=program_admin,
        locked_until=date(2026, 12, 15),
        today=TODAY,
    )
    recalc(date(2026, 12, 14))
    assert tier_code(member) == "gold"


def test_progress_says_what_is_missing_for_the_next_tier_and_to_keep_this_one(member, store):
    buy(member, store, "2000000")
    buy(member, store, "1500000", returned="500000")
    buy(member, store, "300000", returned="300000")  # fully returned: not a purchase
    recalc()
    progress = tier_progress(member.pk, today=TODAY)
    assert progress.tier.code == "bronze"
    assert (progress.spend, progress.purchases) == (Decimal("3000000"), 2)
    assert progress.next_tier.code == "silver"
    assert (progress.spend_to_next, progress.purchases_to_next) == (Decimal("2000000"), 1)
    assert (progress.spend_to_keep, progress.purchases_to_keep) == (Decimal("0"), 0)
    assert progress.window_end == TODAY


def test_progress_of_the_top_tier_has_no_next_tier(member, store, program_admin):
    tier_set_manually(
        member=member, tier=tier("diamond"), reason="VIP", acting_user=program_admin, today=TODAY
    )
    progress = tier_progress(member.pk, today=TODAY)
    assert progress.next_tier is None
    assert progress.spend_to_keep == Decimal("50000000")
    assert progress.purchases_to_keep == 20
    assert progress.retained_until == date(2027, 11, 30)


def test_staff_set_a_tier_from_the_admin_with_a_reason_and_lock(client, program_admin, member):
    client.force_login(program_admin)
    url = reverse("admin:tiers_membertier_set", args=[member.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert (
        reverse("admin:tiers_membertier_set", args=[member.pk])
        in client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()
    )

    # The lock must end after today: a date relative to the real clock (nothing here is frozen).
    lock = timezone.localdate() + timedelta(days=180)
    response = client.post(
        url,
        {"tier": tier("gold").pk, "reason": "VIP partner", "locked_until": lock.isoformat()},
    )

    assert response.status_code == 302
    status = MemberTier.objects.get(member=member)
    assert (status.tier.code, status.locked_until) == ("gold", lock)
    assert TierChange.objects.get(member=member).note == "VIP partner"


def test_the_admin_tier_form_without_reason_or_permission_changes_nothing(
    client, program_admin, marketer, member
):
    url = reverse("admin:tiers_membertier_set", args=[member.pk])
    client.force_login(marketer)
    assert client.post(url, {"tier": tier("gold").pk, "reason": "x"}).status_code == 403

    client.force_login(program_admin)
    response = client.post(url, {"tier": tier("gold").pk, "reason": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not MemberTier.objects.filter(member=member).exists()
    assert not TierChange.objects.exists()
