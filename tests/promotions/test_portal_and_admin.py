"""The portal pages (my referrals, promotions now), the staff admin (promotions, referral
review actions, the referral report), the selectors behind them and the roles."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from members.roles import roles_sync
from promotions.models import Promotion, Referral
from promotions.selectors import referral_funnel, referrals_of_member, top_referrers
from tests.promotions.conftest import VN, buy, days, join, local, referral_of, run_day

pytestmark = pytest.mark.django_db

NOW = local(date(2026, 5, 9), 12)


@pytest.fixture
def lan(client, member_user):
    client.force_login(member_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return member_user.member


def _friends(referrer, store, n=3):
    """n friends: the first rewarded, the second waiting, the third refused."""
    names = ["Trần Văn Bảo", "Lê Thị Hoa", "Phạm Minh Khoa", "Đỗ An", "Vũ Lan", "Hồ Nam"]
    friends = [join(referrer, full_name=names[i]) for i in range(n)]
    buy(friends[0], store, on=days(1))
    run_day(days(8))
    Referral.objects.filter(referee=friends[2]).update(
        status=Referral.Status.REFUSED, reasons=[{"code": "window_expired", "at": "x"}]
    )
    return friends


def test_my_referrals_shows_the_share_link_qr_and_what_was_earned(client, lan, store):
    _friends(lan, store)
    response = client.get(reverse("promotions:referrals"))
    assert response.status_code == 200
    html = response.content.decode()
    share = f"http://testserver/accounts/signup/?ref={lan.referral_code}"
    assert response.context["share_url"] == share
    assert share in html and "<svg" in html
    mine = response.context["mine"]
    assert mine.points_earned == 200 and mine.counts["rewarded"] == 1
    assert [r.status for r in mine.referrals] == ["refused", "pending", "rewarded"]
    assert "+200 points" in html and "No purchase in time" in html
    assert "Waiting for a first purchase by" in html
    assert "Bảo T." in html  # the friend's given name and initial, not their full name
    assert "Trần Văn Bảo" not in html


def test_my_referrals_page_takes_a_fixed_number_of_queries(
    client, lan, store, django_assert_num_queries
):
    _friends(lan, store, n=6)
    client.get(reverse("promotions:referrals"))  # session and language settle
    # session, user, member, referral rules, referrals with friends, totals, own referral
    with django_assert_num_queries(7):
        response = client.get(reverse("promotions:referrals"))
    assert len(response.context["mine"].referrals) == 6


def test_a_referred_member_sees_their_own_welcome_bonus(client, member, store):
    from tests.factories import UserFactory

    user = UserFactory(email="khoa@example.com")
    friend = join(member, user=user, email=user.email)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("promotions:referrals")).content.decode()
    assert (
        "You joined with a friend&#x27;s code" in html or "You joined with a friend's code" in html
    )
    assert referral_of(friend).referrer == member


def test_a_staff_login_has_no_referrals_page(client, support):
    client.force_login(support)
    assert client.get(reverse("promotions:referrals")).status_code == 403


def test_promotions_page_lists_what_runs_now(client, lan):
    with time_machine.travel(NOW, tick=False):
        Promotion.objects.create(
            code="double",
            name="Nhân đôi điểm",
            name_en="Double points weekend",
            kind="multiplier",
            multiplier=Decimal("2"),
            starts_at=datetime(2026, 5, 1, tzinfo=VN),
            ends_at=datetime(2026, 6, 1, tzinfo=VN),
            days_of_week=[6, 7],
        )
        Promotion.objects.create(
            code="later",
            name="Sau",
            kind="fixed_bonus",
            bonus_points=10,
            starts_at=datetime(2026, 7, 1, tzinfo=VN),
            ends_at=datetime(2026, 8, 1, tzinfo=VN),
        )
        html = client.get(reverse("promotions:promotions")).content.decode()
    assert "Double points weekend" in html and "Saturday, Sunday" in html
    assert "Sau" not in html
    assert reverse("promotions:reviews") in html


def test_home_links_to_referrals_and_promotions(client, lan):
    html = client.get(reverse("portal:home")).content.decode()
    assert reverse("promotions:referrals") in html and reverse("promotions:promotions") in html


# ---------------------------------------------------------------------------------------------
# Selectors for staff


def test_funnel_and_top_referrers(referrer, member, store):
    mine = [join(referrer) for _ in range(3)]
    theirs = join(member)
    buy(mine[0], store, on=days(1))
    buy(mine[1], store, "10000", on=days(1))  # a purchase, not a qualifying one
    buy(theirs, store, on=days(2))
    run_day(days(9))
    join(referrer, on=date(2026, 5, 1))  # outside the range
    funnel = referral_funnel(days(0), days(30))
    assert (funnel.joined, funnel.first_purchase, funnel.rewarded) == (4, 3, 2)
    assert (funnel.pending, funnel.held, funnel.refused) == (2, 0, 0)
    top = list(top_referrers(days(0), days(30)))
    assert [(row["referrer_id"], row["joined"], row["rewarded"], row["points"]) for row in top] == [
        (referrer.pk, 3, 1, 200),
        (member.pk, 1, 1, 200),
    ]
    assert top[0]["card_number"] == referrer.card_number
    assert [row["referrer_id"] for row in top_referrers(days(0), days(30), limit=1)] == [
        referrer.pk
    ]


def test_referrals_of_member_counts_by_status(referrer, store):
    _friends(referrer, store)
    mine = referrals_of_member(referrer, limit=2)
    assert len(mine.referrals) == 2 and mine.total == 3
    assert mine.counts == {"pending": 1, "held": 0, "rewarded": 1, "refused": 1}


# ---------------------------------------------------------------------------------------------
# Admin and roles


def test_roles(program_admin, marketer, support, store_manager):
    roles_sync()
    assert program_admin.has_perm("promotions.change_referralprogram")
    assert program_admin.has_perm("promotions.review_referral")
    assert marketer.has_perm("promotions.add_promotion")
    assert not marketer.has_perm("promotions.review_referral")
    assert not marketer.has_perm("promotions.change_referralprogram")
    assert support.has_perm("promotions.review_referral")
    assert not support.has_perm("promotions.change_promotion")
    assert not store_manager.has_perm("promotions.view_referral")


def test_a_marketer_creates_a_promotion_in_the_admin(client, marketer, store):
    client.force_login(marketer)
    url = reverse("admin:promotions_promotion_add")
    assert client.get(url).status_code == 200
    data = {
        "code": "bonus-500k",
        "name": "Thưởng 50 điểm",
        "kind": "fixed_bonus",
        "bonus_points": "50",
        "min_amount": "500000",
        "stacking": "stacks",
        "starts_at_0": "2026-12-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-12-31",
        "ends_at_1": "00:00:00",
        "days_of_week": ["6", "7"],
        "start_time": "18:00",
        "categories": "Dairy, bakery",
        "skus": "",
        "stores": [store.pk],
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    promotion = Promotion.objects.get(code="bonus-500k")
    assert promotion.days_of_week == [6, 7]
    assert promotion.categories == ["dairy", "bakery"]
    assert list(promotion.stores.all()) == [store]
    bad = client.post(url, {**data, "code": "bad", "multiplier": "1.5"})
    assert bad.status_code == 200
    assert "multiplier" in bad.context["adminform"].form.errors


def test_support_approves_a_held_referral_from_the_admin(client, support, referrer, store):
    buy(referrer, store, on=date(2026, 1, 5), payment_fingerprint="card")
    friend = join(referrer)
    buy(friend, store, on=days(1), payment_fingerprint="card")
    run_day(days(8))
    held = referral_of(friend)
    client.force_login(support)
    changelist = reverse("admin:promotions_referral_changelist")
    page = client.get(changelist, {"status": "held", "reason": "same_payment_card"})
    assert list(page.context["cl"].result_list) == [held]
    assert (
        client.get(reverse("admin:promotions_referral_change", args=[held.pk])).status_code == 200
    )
    response = client.post(
        changelist, {"action": "approve_selected", "_selected_action": [held.pk]}
    )
    assert response.status_code == 302
    assert referral_of(friend).status == Referral.Status.REWARDED


def test_a_marketer_cannot_review_referrals(client, marketer, referrer):
    friend = join(referrer)
    Referral.objects.filter(referee=friend).update(status=Referral.Status.HELD)
    marketer.user_permissions.add(Permission.objects.get(codename="view_referral"))
    client.force_login(marketer)
    page = client.get(reverse("admin:promotions_referral_changelist"))
    form = page.context["action_form"]  # None: no action at all for this user
    actions = [name for name, _label in form.fields["action"].choices] if form else []
    assert "approve_selected" not in actions and "reject_selected" not in actions


def test_the_referral_report(client, program_admin, referrer, store):
    friend = join(referrer)
    buy(friend, store, on=days(1))
    run_day(days(8))
    client.force_login(program_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(
        reverse("admin:promotions_referral_report"), {"start": "2026-03-01", "end": "2026-03-31"}
    )
    assert response.status_code == 200
    assert response.context["funnel"].rewarded == 1
    assert response.context["top"][0]["referrer_id"] == referrer.pk
    assert referrer.full_name in response.content.decode()
    assert client.get(reverse("admin:promotions_referral_changelist")).status_code == 200


def test_store_managers_cannot_see_the_report(client, store_manager):
    client.force_login(store_manager)
    assert client.get(reverse("admin:promotions_referral_report")).status_code == 403
