"""factory_boy factories. Members are built through the enrolment service, so every test
member has what a real one has (card number with check digit, referral code, consents)."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from members.models import Member, Purchase, Store, User
from members.services import member_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    province = "ho-chi-minh"


class MemberFactory(factory.Factory):
    """``MemberFactory(user=...)`` or plain; goes through ``member_create`` (create only)."""

    class Meta:
        model = Member

    full_name = "Nguyễn Văn An"
    phone = factory.Sequence(lambda n: f"09{12000000 + n:08d}")
    email = factory.Sequence(lambda n: f"member{n}@example.com")
    birth_date = None
    gender = ""
    province = ""
    email_consent = False
    sms_consent = False
    user = None
    enrolled_via = Member.Channel.PORTAL

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return member_create(**kwargs)


class PurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purchase

    store = factory.SubFactory(StoreFactory)
    member = factory.SubFactory(MemberFactory)
    external_id = factory.Sequence(lambda n: f"R-{n:06d}")
    occurred_at = factory.LazyFunction(timezone.now)
    total_amount = Decimal("250000")
    amount_due = factory.SelfAttribute("total_amount")
