"""Activity bonuses: a completed profile, the first portal login, a purchase review; each
paid once per its event."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from loyalty.errors import DomainError
from members.services import member_block, member_update_profile
from promotions.models import ActivityBonus, PurchaseReview
from promotions.services import (
    activity_bonus_first_login,
    activity_bonus_profile_completed,
    purchase_review_submit,
)
from tests.factories import MemberFactory, UserFactory
from tests.promotions.conftest import available, bonus_keys, buy, local

pytestmark = pytest.mark.django_db

TODAY = date(2026, 7, 15)

COMPLETE = {
    "birth_date": date(1990, 4, 2),
    "gender": "female",
    "province": "ha-noi",
}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(local(TODAY, 10), tick=False):
        yield


def test_a_profile_complete_at_enrolment_is_paid_at_once(db):
    member = MemberFactory(**COMPLETE)
    assert available(member) == 50
    assert bonus_keys(member) == [f"activity:profile_completed:{member.pk}"]


def test_completing_the_profile_later_pays_once(member):
    assert available(member) == 0
    member_update_profile(member=member, birth_date=date(1990, 4, 2), gender="female")
    assert available(member) == 0  # still no province
    member_update_profile(member=member, province="hue")
    assert available(member) == 50
    member_update_profile(member=member, province="ha-noi")
    member_update_profile(member=member, province="")
    member_update_profile(member=member, province="hue")
    assert available(member) == 50
    member.refresh_from_db()
    assert activity_bonus_profile_completed(member=member).available_delta == 50  # the first


def test_a_profile_without_email_is_not_complete(db):
    member = MemberFactory(email=None, **COMPLETE)
    assert available(member) == 0


def test_the_bonus_is_the_programmes_and_can_be_turned_off(member):
    ActivityBonus.objects.filter(kind="profile_completed").update(points=80)
    ActivityBonus.objects.filter(kind="profile_completed").first().save()  # clears the cache
    member_update_profile(member=member, **COMPLETE)
    assert available(member) == 80
    ActivityBonus.objects.filter(kind="first_login").update(is_active=False)
    ActivityBonus.objects.get(kind="first_login").save()
    user = UserFactory()
    MemberFactory(user=user, email=user.email)
    assert activity_bonus_first_login(user=user) is None


def test_a_blocked_member_gets_no_bonus(member, support):
    member_block(member=member, reason="fraud", acting_user=support)
    member.refresh_from_db()
    member_update_profile(member=member, **COMPLETE)
    assert available(member) == 0


def test_the_first_portal_login_pays_once(client, member_user):
    for _ in range(2):
        response = client.post(
            reverse("account_login"),
            {"login": member_user.email, "password": "correct-horse-battery"},
        )
        assert response.status_code == 302
        client.logout()
    member = member_user.member
    assert available(member) == 20
    assert bonus_keys(member) == [f"activity:first_login:{member.pk}"]


def test_a_staff_login_gets_nothing(client, support):
    assert activity_bonus_first_login(user=support) is None


def test_reviewing_a_purchase_pays_once_per_purchase(member, store):
    first = buy(member, store, on=TODAY - timedelta(days=2))
    second = buy(member, store, on=TODAY)
    review = purchase_review_submit(member=member, purchase=first, rating=5, comment=" Tốt ")
    assert review.comment == "Tốt" and review.bonus_entry.available_delta == 20
    with pytest.raises(DomainError) as caught:
        purchase_review_submit(member=member, purchase=first, rating=1)
    assert caught.value.code == "already_reviewed"
    purchase_review_submit(member=member, purchase=second, rating=4)
    assert available(member) == 40
    assert PurchaseReview.objects.count() == 2
    assert bonus_keys(member) == sorted(
        [f"activity:purchase_review:{first.pk}", f"activity:purchase_review:{second.pk}"]
    )


def test_only_the_last_30_days_not_returned_and_ones_own_purchases(member, other_member, store):
    last_day = buy(member, store, on=TODAY - timedelta(days=29))
    too_old = buy(member, store, on=TODAY - timedelta(days=30))
    returned = buy(member, store, on=TODAY, returned="250000")
    theirs = buy(other_member, store, on=TODAY)
    purchase_review_submit(member=member, purchase=last_day, rating=3)
    for purchase, code in [
        (too_old, "review_not_allowed"),
        (returned, "review_not_allowed"),
        (theirs, "not_found"),
    ]:
        with pytest.raises(DomainError) as caught:
            purchase_review_submit(member=member, purchase=purchase, rating=3)
        assert caught.value.code == code
    assert available(member) == 20


def test_a_rating_outside_one_to_five_is_refused(member, store):
    from django.core.exceptions import ValidationError

    purchase = buy(member, store, on=TODAY)
    with pytest.raises(ValidationError):
        purchase_review_submit(member=member, purchase=purchase, rating=6)
    assert not PurchaseReview.objects.exists()


def test_the_review_page_lists_recent_purchases_and_a_post_pays(client, member_user, store):
    client.force_login(member_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    member = member_user.member
    purchase = buy(member, store, on=TODAY, amount="180000")
    buy(member, store, on=TODAY - timedelta(days=40))
    page = client.get(reverse("promotions:reviews"))
    assert page.status_code == 200
    assert [p.pk for p in page.context["purchases"]] == [purchase.pk]
    response = client.post(
        reverse("promotions:reviews"), {"purchase": purchase.pk, "rating": "5", "comment": "ngon"}
    )
    assert response.status_code == 302
    assert PurchaseReview.objects.get(purchase=purchase).rating == 5
    assert available(member) == 20
    again = client.post(
        reverse("promotions:reviews"), {"purchase": purchase.pk, "rating": "1"}, follow=True
    )
    assert available(member) == 20
    assert [str(m) for m in again.context["messages"]][-1] == (
        "You have already reviewed this purchase."
    )
    assert client.get(reverse("promotions:reviews")).context["purchases"][0].reviewed


def test_the_review_page_refuses_someone_elses_purchase(client, member_user, other_member, store):
    client.force_login(member_user)
    theirs = buy(other_member, store, on=TODAY, amount=Decimal("100000"))
    client.post(reverse("promotions:reviews"), {"purchase": theirs.pk, "rating": "5"})
    assert not PurchaseReview.objects.exists()
