"""The objects the authorisation matrix fills URLs with: two members (A, whose ids the
principals use, and B, "another member"), two stores with their keys (A's, B's and a revoked
one of A), one staff user per role (a store manager of A and one of B), a superuser, and at
least one row of every model the admin shows, A's wherever a row belongs to someone.

Built through the services where they exist (enrolment, keys, points, redemption, the POS
purchase and return), so the rows look like real ones."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.test import Client
from django.utils import timezone

from members.models import Member, Purchase, PurchaseReturn, Store, User
from members.roles import MARKETER, PROGRAM_ADMIN, STORE_MANAGER, SUPPORT
from members.selectors import program_get
from members.services.points import points_adjust, points_grant
from pos.services import api_key_create, api_key_revoke
from rewards.models import Reward
from rewards.services import reward_redeem
from tests.factories import MemberFactory, StoreFactory, UserFactory
from tests.security import matrix as m

TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # a fixed base32 secret: only the authenticator row matters
_n = itertools.count(1)


@dataclass
class World:
    stores: dict[str, Store] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # principal -> raw API key
    users: dict[str, User] = field(default_factory=dict)  # principal -> user logged in
    members: dict[str, Member] = field(default_factory=dict)  # "A", "B"
    # Per member ("A"/"B"): the ids the portal and the POS API take.
    vouchers: dict[str, str] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    purchases: dict[str, str] = field(default_factory=dict)  # external ids
    reward_id: int = 0
    # "app_label.model_name" -> pk of the row the admin's object URLs open (A's / store A's).
    admin_pk: dict[str, object] = field(default_factory=dict)


def _staff(role: str | None, *, superuser: bool = False, stores=()) -> User:
    user = UserFactory(
        email=f"sec-staff-{next(_n)}@example.com", is_staff=True, is_superuser=superuser
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if stores and hasattr(user, "stores"):  # members.User.stores: the stores one works for
        user.stores.set(stores)
    return user


def _enrol_totp(user: User) -> None:
    """Superusers and Program admins must have a second factor; give them a TOTP one, as
    the setup page would (allauth's own activation)."""
    if not apps.is_installed("allauth.mfa"):
        # Before the MFA app is installed there is no authenticator to make; once it is
        # (issue #12), every enrolled staff user passes its middleware after force_login.
        return
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, TOTP_SECRET)


def _pos(raw_key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


def _ok(response, status: int = 201) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def build() -> World:
    from allauth.account.models import EmailAddress
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    from campaigns.models import (
        Campaign,
        MemberScore,
        Notification,
        Segment,
        Send,
        SmsLog,
    )
    from members.models import EarnCategoryRule, PointEntry, PointLot
    from promotions.models import Promotion, PromotionAward, PurchaseReview, Referral
    from rewards.models import PartnerCode, Voucher
    from tiers.models import MemberTier, Tier, TierChange

    w = World()
    now = timezone.now()
    today = timezone.localdate()
    program = program_get()
    store_a = StoreFactory(code="SEC-A", name="Security A")
    store_b = StoreFactory(code="SEC-B", name="Security B")
    w.stores = {"A": store_a, "B": store_b}
    key_row, w.keys[m.KEY] = api_key_create(store=store_a, label="till A")
    _row, w.keys[m.KEY_OTHER] = api_key_create(store=store_b, label="till B")
    revoked, w.keys[m.KEY_REVOKED] = api_key_create(store=store_a, label="old till A")
    api_key_revoke(api_key=revoked)

    for tag in ("A", "B"):
        user = UserFactory(email=f"sec-member-{tag.lower()}@example.com")
        member = MemberFactory(
            user=user,
            full_name=f"Member {tag}",
            email=user.email,
            email_consent=True,
            sms_consent=True,
        )
        EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        w.members[tag] = member
        points_grant(
            member=member,
            points=5000,
            idempotency_key=f"sec-grant-{tag}",
            reason="test",
            program=program,
        )
    w.users[m.MEMBER] = w.users[m.OTHER_IDS] = w.members["A"].user

    w.users[m.PA] = _staff(PROGRAM_ADMIN)
    w.users[m.MK] = _staff(MARKETER)
    w.users[m.SM] = _staff(STORE_MANAGER, stores=[store_a])
    w.users[m.SMO] = _staff(STORE_MANAGER, stores=[store_b])
    w.users[m.SP] = _staff(SUPPORT)
    w.users[m.SU] = _staff(None, superuser=True)
    for principal in (m.PA, m.SU):
        _enrol_totp(w.users[principal])

    reward = Reward.objects.create(
        code="sec-reward",
        kind=Reward.Kind.AMOUNT,
        name="Giảm giá",
        name_en="Discount",
        points_cost=100,
        discount_amount=Decimal("50000"),
    )
    w.reward_id = reward.pk
    partner_reward = Reward.objects.create(
        code="sec-partner",
        kind=Reward.Kind.PRODUCT,
        name="Quà đối tác",
        name_en="Partner gift",
        points_cost=100,
    )
    partner_code = PartnerCode.objects.create(reward=partner_reward, code="SEC-P1")

    campaign = Campaign.objects.order_by("pk").first()
    for tag, member in w.members.items():
        w.vouchers[tag] = reward_redeem(member=member, reward=reward).code
        send = Send.objects.create(campaign=campaign, member=member, occurrence=f"sec-{tag}")
        w.notifications[tag] = Notification.objects.create(
            member=member, send=send, title="Xin chào", body="Nội dung"
        ).pk
    # Purchases and a return, as the tills send them (points, lots, tiers, idempotency rows).
    for tag, member in w.members.items():
        store_tag = "A" if tag == "A" else "B"
        key = w.keys[m.KEY if store_tag == "A" else m.KEY_OTHER]
        external_id = f"SEC-R-{tag}"
        _ok(
            _pos(key).post(
                "/api/v1/pos/transactions/",
                {
                    "external_id": external_id,
                    "member": member.card_number,
                    "total_amount": "500000",
                },
                content_type="application/json",
            )
        )
        w.purchases[tag] = external_id
    _ok(
        _pos(w.keys[m.KEY]).post(
            f"/api/v1/pos/transactions/{w.purchases['A']}/returns/",
            {"external_id": "SEC-RET-A", "amount": "10000"},
            content_type="application/json",
        )
    )
    member_a = w.members["A"]
    till_voucher = _ok(
        _pos(w.keys[m.KEY]).post(
            f"/api/v1/pos/members/{member_a.card_number}/rewards/{reward.pk}/redeem/",
            {"external_id": "SEC-REDEEM-A"},
            content_type="application/json",
        )
    )["voucher"]["code"]
    points_adjust(
        member=member_a,
        points=10,
        reason="goodwill",
        acting_user=w.users[m.SP],
        program=program,
    )
    # A personal-data request carried out for A by support (DataRequest's admin rows).
    from members.services.privacy import data_request_record

    data_request_record(
        member=member_a, kind="export", acting_user=w.users[m.SP], channel="staff", note="matrix"
    )
    # A login waiting to prove a till member's phone (PhoneClaim's admin rows).
    from django.contrib.auth import get_user_model

    from members.models import PhoneClaim

    PhoneClaim.objects.create(
        user=get_user_model().objects.create_user("claiming@example.com"), phone="+84912000999"
    )
    purchase_a = Purchase.objects.get(store=store_a, external_id=w.purchases["A"])
    promotion = Promotion.objects.create(
        code="sec-promo",
        name="Khuyến mãi",
        kind=Promotion.Kind.FIXED_BONUS,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    PromotionAward.objects.create(
        promotion=promotion, member=member_a, purchase=purchase_a, points=1
    )
    PurchaseReview.objects.create(member=member_a, purchase=purchase_a, rating=5)
    Referral.objects.create(
        referrer=member_a,
        referee=w.members["B"],
        channel="portal",
        joined_at=now,
        joined_on=today,
        window_ends_at=now + timedelta(days=30),
    )
    TierChange.objects.create(
        member=member_a, to_tier=Tier.objects.order_by("rank").first(), reason="manual"
    )
    MemberTier.objects.update_or_create(
        member=member_a,
        defaults={
            "tier": Tier.objects.order_by("rank").first(),
            "since": today,
            "retained_until": today + timedelta(days=365),
        },
    )
    MemberScore.objects.get_or_create(
        member=member_a,
        defaults={"lifecycle": "new", "lifecycle_since": today, "computed_on": today},
    )
    Segment.objects.create(code="sec-segment", name="Phân khúc")
    SmsLog.objects.create(key="sec-sms", phone="+84900000001", text="Xin chào")
    EarnCategoryRule.objects.create(category="sec-category", multiplier=Decimal("1"))
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="3")
    SolarSchedule.objects.create(event="sunrise", latitude=10.8, longitude=106.6)
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    PeriodicTask.objects.create(name="sec-task", task="loyalty.tasks.noop", interval=interval)

    # The row each admin model's object URLs open: the one that belongs to A where rows
    # belong to someone (store A for store-bound rows), else the first.
    specific = {
        "members.member": member_a.pk,
        "members.store": store_a.pk,
        "members.purchase": purchase_a.pk,
        "members.pointentry": PointEntry.objects.filter(purchase=purchase_a).first().pk,
        "members.pointlot": PointLot.objects.filter(purchase=purchase_a).first().pk,
        "rewards.voucher": Voucher.objects.get(code=till_voucher).pk,  # issued at store A
        "members.purchasereturn": PurchaseReturn.objects.get(purchase=purchase_a).pk,
        "members.user": w.users[m.SU].pk,  # a superuser account: what an attacker wants
        "rewards.reward": reward.pk,
        "rewards.partnercode": partner_code.pk,
        "pos.storeapikey": key_row.pk,
    }
    from django.contrib import admin

    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if label in specific:
            w.admin_pk[label] = specific[label]
            continue
        manager = model._default_manager
        row = None
        for field_name in ("member", "user", "store"):
            try:
                model._meta.get_field(field_name)
            except FieldDoesNotExist:
                continue
            target = {"member": member_a, "user": member_a.user, "store": store_a}[field_name]
            row = manager.filter(**{field_name: target}).order_by("pk").first()
            break
        row = row or manager.order_by("pk").first()
        assert row is not None, f"world.build makes no {label} row: add one for the admin"
        w.admin_pk[label] = row.pk
    return w
