"""The POS API (contract v1 in shared/pos-api.md). Views are thin: parse, call a service or
selector, answer. Errors become the contract's body in ``loyalty.api.exception_handler``."""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.api import FixedWindowThrottle, check_body_size
from loyalty.errors import DomainError
from loyalty.money import money_text
from members.selectors import member_find, program_cached
from pos.authentication import StoreApiKeyAuthentication
from pos.fields import (
    ContractDateTimeField,
    ExternalIdField,
    MoneyField,
    PointsField,
    QuantityField,
    is_printable,
)
from pos.selectors import member_by_card_or_404, member_summary, voucher_body
from pos.services.enrolment import member_enrol_at_till
from pos.services.idempotency import Outcome
from pos.services.purchases import (
    PurchaseInput,
    ReturnInput,
    purchase_quote,
    purchase_record,
    purchase_return_record,
)
from pos.services.redemption import reward_redeem_at_till
from promotions.selectors import promotion_public_body, promotions_running
from rewards.selectors import rewards_for_member, voucher_find
from tiers.selectors import tier_progress, tiers_ordered

MONEY = {"max_digits": 16, "decimal_places": 2, "coerce_to_string": True}


class ApiKeyThrottle(FixedWindowThrottle):
    """Requests per store key per minute (``POS_API_THROTTLE_RATE``, default 1000/min), in
    a fixed window that fails open (``loyalty.api.FixedWindowThrottle``): a Redis outage
    never stops a till. The Redis backend already answers a miss then
    (``loyalty.cache_backends``); failing open guards any other backend too."""

    rate_setting = "POS_API_THROTTLE_RATE"
    scope = "pos"

    def ident(self, request):
        return None if request.auth is None else request.auth.pk


class PosAutoSchema(AutoSchema):
    """Every POS operation documents the errors any request can meet, besides those its
    view names: 401 (key), 429 (throttle) and 503 (database unreachable, with
    ``Retry-After``); a write also 400, 413 (body over 1 MiB) and 415 (not JSON); an
    operation with path parameters 404."""

    def _contract_error_codes(self) -> list[int]:
        codes = [401, 429, 503]
        if self.method == "POST":
            codes += [400, 413, 415]
        if "{" in self.path:
            codes.append(404)
        return codes

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        for code in self._contract_error_codes():
            code = str(code)
            if code not in bodies:
                bodies[code] = self._get_response_for_code(
                    ErrorSerializer, code, direction=direction
                )
        for code in ("429", "503"):
            bodies[code].setdefault("headers", {})["Retry-After"] = {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before trying again.",
            }
        return bodies


class PosApiView(APIView):
    schema = PosAutoSchema()
    authentication_classes = [StoreApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiKeyThrottle]

    @property
    def store(self):
        return self.request.auth.store

    def initial(self, request, *args, **kwargs):
        # Before authentication and before any body is read: a body over 1 MiB is 413, and
        # a path parameter no id can hold (a NUL or another control character) names
        # nothing (404), rather than reaching the database.
        check_body_size(request)
        if not all(is_printable(str(value)) for value in kwargs.values()):
            raise DomainError("not_found", _("Not found."))
        super().initial(request, *args, **kwargs)

    @staticmethod
    def answer(outcome: Outcome) -> Response:
        if outcome.replayed:
            return Response(outcome.body, status=200, headers={"Idempotent-Replayed": "true"})
        return Response(outcome.body, status=outcome.status)


_serializers = threading.local()


def _valid(serializer_class, data) -> dict:
    """The request body validated by ``serializer_class`` (400 ``validation_error``).

    Each thread builds one instance per serializer class and reuses it: DRF deep-copies
    every declared field for each new instance, which cost about a sixth of the Python time
    of a POS purchase. Validation keeps its state on the instance (``initial_data``,
    ``_validated_data``, ``_errors``), which is reset here; the bound fields are stateless."""
    cache = _serializers.__dict__
    serializer = cache.get(serializer_class)
    if serializer is None:
        serializer = cache[serializer_class] = serializer_class()
    for attribute in ("_validated_data", "_errors", "_data"):
        serializer.__dict__.pop(attribute, None)
    serializer.initial_data = data
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# ---------------------------------------------------------------- shapes of the contract


class TierRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class BalanceSerializer(serializers.Serializer):
    available = serializers.IntegerField()
    pending = serializers.IntegerField()


class ExpiringSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    on = serializers.DateField()


class MemberSummarySerializer(serializers.Serializer):
    card_number = serializers.CharField()
    full_name = serializers.CharField()
    phone_masked = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "blocked"])
    tier = TierRefSerializer()
    points = BalanceSerializer()
    expiring = ExpiringSerializer(allow_null=True)
    referral_code = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = inline_serializer(
        "ErrorDetail",
        fields={
            "code": serializers.CharField(),
            "message": serializers.CharField(),
            "details": serializers.DictField(),
        },
    )


ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
    413: ErrorSerializer,
    415: ErrorSerializer,
    422: ErrorSerializer,
    429: ErrorSerializer,
    503: ErrorSerializer,
}


# ---------------------------------------------------------------- programme


class ProgramTierSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField()
    min_spend = serializers.DecimalField(**MONEY)
    min_purchases = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    benefits = serializers.CharField()


class ProgramSerializer(serializers.Serializer):
    currency = serializers.CharField()
    timezone = serializers.CharField()
    earn = inline_serializer(
        "EarnRate",
        fields={"per_amount": serializers.CharField(), "points": serializers.IntegerField()},
    )
    point_value = serializers.CharField()
    pending_days = serializers.IntegerField()
    expiry_months = serializers.IntegerField()
    tier_window_months = serializers.IntegerField()
    tiers = ProgramTierSerializer(many=True)
    promotions = serializers.ListField(child=serializers.DictField())


class ProgramApi(PosApiView):
    @extend_schema(
        operation_id="pos_program",
        summary="The programme's rules a POS shows",
        responses={200: ProgramSerializer, 401: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Default programme",
                value={
                    "currency": "VND",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "earn": {"per_amount": "10000", "points": 1},
                    "point_value": "100",
                    "pending_days": 7,
                    "expiry_months": 12,
                    "tier_window_months": 12,
                    "tiers": [
                        {
                            "code": "bronze",
                            "name": "Đồng",
                            "rank": 1,
                            "min_spend": "0",
                            "min_purchases": 0,
                            "multiplier": "1.00",
                            "benefits": "...",
                        },
                    ],
                    "promotions": [],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        program = program_cached()
        return Response(
            {
                "currency": program.currency,
                "timezone": settings.TIME_ZONE,
                "earn": {
                    "per_amount": money_text(program.earn_per_amount),
                    "points": program.earn_points,
                },
                "point_value": money_text(program.point_value),
                "pending_days": program.pending_days,
                "expiry_months": program.expiry_months,
                "tier_window_months": program.tier_window_months,
                "tiers": [
                    {
                        "code": tier.code,
                        "name": tier.name,
                        "rank": tier.rank,
                        "min_spend": money_text(tier.min_spend),
                        "min_purchases": tier.min_purchases,
                        "multiplier": str(tier.multiplier),
                        "benefits": tier.benefits,
                    }
                    for tier in tiers_ordered()
                ],
                "promotions": [
                    promotion_public_body(promotion)
                    for promotion in promotions_running(at=timezone.now())
                ],
            }
        )


# ---------------------------------------------------------------- members


class MemberLookupApi(PosApiView):
    @extend_schema(
        operation_id="pos_member_lookup",
        summary="Find a member by card number, phone (any common form) or email",
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                examples=[
                    OpenApiExample("Card", value="321505275149"),
                    OpenApiExample("Phone", value="0912 345 678"),
                    OpenApiExample("Email", value="mai@example.com"),
                ],
            )
        ],
        responses={200: MemberSummarySerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        query = request.query_params.get("q", "")
        member = member_find(query) if is_printable(query) else None
        if member is None:
            raise DomainError("not_found", _("No member matches this card, phone or email."))
        return Response(member_summary(member))


@extend_schema(exclude=True)
class MemberLookupSlashApi(MemberLookupApi):
    """The same lookup with a trailing slash, for tills that add one (not in the schema)."""


class TierProgressSerializer(serializers.Serializer):
    tier = TierRefSerializer()
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    spend = serializers.DecimalField(**MONEY)
    purchases = serializers.IntegerField()
    next_tier = TierRefSerializer(allow_null=True)
    spend_to_next = serializers.DecimalField(**MONEY)
    purchases_to_next = serializers.IntegerField()
    retained_until = serializers.DateField(allow_null=True)
    spend_to_keep = serializers.DecimalField(**MONEY)
    purchases_to_keep = serializers.IntegerField()


class MemberTierApi(PosApiView):
    @extend_schema(
        operation_id="pos_member_tier",
        summary="A member's tier and what the next tier, or keeping theirs, needs",
        responses={200: TierProgressSerializer, 404: ErrorSerializer},
    )
    def get(self, request, card_number):
        member = member_by_card_or_404(card_number)
        progress = tier_progress(member.pk)

        def ref(tier):
            return {"code": tier.code, "name": tier.name} if tier else None

        return Response(
            {
                "tier": ref(progress.tier),
                "window_start": progress.window_start.isoformat(),
                "window_end": progress.window_end.isoformat(),
                "spend": money_text(progress.spend),
                "purchases": progress.purchases,
                "next_tier": ref(progress.next_tier),
                "spend_to_next": money_text(progress.spend_to_next),
                "purchases_to_next": progress.purchases_to_next,
                "retained_until": progress.retained_until.isoformat()
                if progress.retained_until
                else None,
                "spend_to_keep": money_text(progress.spend_to_keep),
                "purchases_to_keep": progress.purchases_to_keep,
            }
        )


class EnrolSerializer(serializers.Serializer):
    external_id = ExternalIdField()
    full_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32)
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    referral_code = serializers.CharField(
        max_length=16, required=False, allow_null=True, allow_blank=True
    )


class MemberEnrolApi(PosApiView):
    @extend_schema(
        operation_id="pos_member_enrol",
        summary="Enrol a member at the till",
        request=EnrolSerializer,
        responses={201: MemberSummarySerializer, 200: MemberSummarySerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Enrolment",
                value={
                    "external_id": "ENR-0001",
                    "full_name": "Nguyễn Thị Mai",
                    "phone": "0912 345 678",
                    "email": "mai@example.com",
                    "birth_date": "1995-03-08",
                    "referral_code": "K7M2Q9XA",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = _valid(EnrolSerializer, request.data)
        return self.answer(
            member_enrol_at_till(
                store=self.store,
                external_id=data["external_id"],
                full_name=data["full_name"],
                phone=data["phone"],
                email=data.get("email") or None,
                birth_date=data.get("birth_date"),
                referral_code=data.get("referral_code") or None,
            )
        )


# ---------------------------------------------------------------- purchases


MAX_LINES = 1000  # lines of one receipt
MAX_VOUCHERS = 20  # vouchers presented on one purchase


class ItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True)
    quantity = QuantityField()
    unit_price = MoneyField()


class QuoteSerializer(serializers.Serializer):
    member = serializers.CharField(max_length=64)
    occurred_at = ContractDateTimeField(required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False, allow_null=True)
    total_amount = MoneyField()
    items = ItemSerializer(many=True, required=False, max_length=MAX_LINES)
    redeem_points = PointsField(required=False, default=0)
    voucher_codes = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        default=list,
        max_length=MAX_VOUCHERS,
    )


class TransactionSerializer(QuoteSerializer):
    external_id = ExternalIdField()
    payment_fingerprint = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional: an opaque token of the payment card from the payment terminal "
        "(never the card number), used by the referral fraud checks.",
    )


class VoucherUseSerializer(serializers.Serializer):
    code = serializers.CharField()
    discount = serializers.CharField()


class PromotionAwardSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    points = serializers.IntegerField(help_text="Points this promotion added to the purchase.")


class TransactionResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    member = serializers.CharField()
    total_amount = serializers.CharField()
    voucher_discount = serializers.CharField()
    points_discount = serializers.CharField()
    amount_due = serializers.CharField()
    points_earned = serializers.IntegerField()
    points_status = serializers.ChoiceField(choices=["pending", "available"])
    points_redeemed = serializers.IntegerField()
    balance = BalanceSerializer()
    tier = TierRefSerializer()
    tier_changed = serializers.BooleanField()
    vouchers = VoucherUseSerializer(many=True)
    promotions = PromotionAwardSerializer(many=True)


class QuoteResultSerializer(TransactionResultSerializer):
    max_redeemable_points = serializers.IntegerField()


def _purchase_input(data: dict) -> PurchaseInput:
    return PurchaseInput(
        external_id=data.get("external_id"),
        member=data["member"],
        occurred_at=data.get("occurred_at"),
        currency=data.get("currency"),
        total_amount=data["total_amount"],
        items=[dict(item) for item in data.get("items", [])],
        redeem_points=data.get("redeem_points", 0),
        voucher_codes=list(data.get("voucher_codes", [])),
        payment_fingerprint=data.get("payment_fingerprint", ""),
    )


TRANSACTION_EXAMPLE = {
    "external_id": "R-000123",
    "member": "321505275149",
    "occurred_at": "2026-11-20T09:15:00+07:00",
    "currency": "VND",
    "total_amount": "1250000",
    "items": [
        {
            "sku": "CF-LATTE-L",
            "name": "Latte L",
            "category": "coffee",
            "quantity": 2,
            "unit_price": "75000",
        },
        {
            "sku": "GC-1M",
            "name": "Gift card",
            "category": "gift-card",
            "quantity": 1,
            "unit_price": "1100000",
        },
    ],
    "redeem_points": 0,
    "voucher_codes": [],
}


class QuoteApi(PosApiView):
    @extend_schema(
        operation_id="pos_quote",
        summary="What a purchase would do, without recording it",
        request=QuoteSerializer,
        responses={200: QuoteResultSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Quote",
                value={k: v for k, v in TRANSACTION_EXAMPLE.items() if k != "external_id"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = _valid(QuoteSerializer, request.data)
        return Response(purchase_quote(store=self.store, data=_purchase_input(data)))


class TransactionApi(PosApiView):
    @extend_schema(
        operation_id="pos_transaction",
        summary="Record a purchase, optionally paid in part with points and vouchers",
        request=TransactionSerializer,
        responses={201: TransactionResultSerializer, 200: TransactionResultSerializer, **ERRORS},
        examples=[
            OpenApiExample("Purchase", value=TRANSACTION_EXAMPLE, request_only=True),
            OpenApiExample(
                "Recorded",
                value={
                    "id": 5012,
                    "external_id": "R-000123",
                    "member": "321505275149",
                    "total_amount": "1250000",
                    "voucher_discount": "0",
                    "points_discount": "0",
                    "amount_due": "1250000",
                    "points_earned": 15,
                    "points_status": "pending",
                    "points_redeemed": 0,
                    "balance": {"available": 320, "pending": 15},
                    "tier": {"code": "bronze", "name": "Đồng"},
                    "tier_changed": False,
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Not enough points",
                value={
                    "error": {
                        "code": "insufficient_points",
                        "message": "Not enough points: 120 available, 500 asked.",
                        "details": {"available": 120, "requested": 500},
                    }
                },
                response_only=True,
                status_codes=["422"],
            ),
        ],
    )
    def post(self, request):
        data = _valid(TransactionSerializer, request.data)
        return self.answer(purchase_record(store=self.store, data=_purchase_input(data)))


class ReturnSerializer(serializers.Serializer):
    external_id = ExternalIdField()
    amount = MoneyField(required=False, allow_null=True)
    items = inline_serializer(
        "ReturnItem",
        fields={
            "sku": serializers.CharField(max_length=64),
            "quantity": QuantityField(),
        },
        many=True,
        required=False,
        max_length=MAX_LINES,
    )


class ReturnResultSerializer(serializers.Serializer):
    points_reversed = serializers.IntegerField()
    points_refunded = serializers.IntegerField()
    balance = BalanceSerializer()
    tier = TierRefSerializer()
    tier_changed = serializers.BooleanField()
    vouchers_restored = serializers.IntegerField(
        help_text="Vouchers given back to the member by a full return."
    )


class ReturnApi(PosApiView):
    @extend_schema(
        operation_id="pos_return",
        summary="Return goods of a purchase (by amount or by items)",
        request=ReturnSerializer,
        responses={201: ReturnResultSerializer, 200: ReturnResultSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "By amount", value={"external_id": "RET-1", "amount": "250000"}, request_only=True
            ),
            OpenApiExample(
                "By items",
                value={"external_id": "RET-2", "items": [{"sku": "CF-LATTE-L", "quantity": 1}]},
                request_only=True,
            ),
        ],
    )
    def post(self, request, external_id):
        data = _valid(ReturnSerializer, request.data)
        return self.answer(
            purchase_return_record(
                store=self.store,
                purchase_external_id=external_id,
                data=ReturnInput(
                    external_id=data["external_id"],
                    amount=data.get("amount"),
                    items=[dict(i) for i in data.get("items", [])],
                ),
            )
        )


# ---------------------------------------------------------------- rewards and vouchers


class RewardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()


class VoucherSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=["issued", "used", "expired", "cancelled"])
    member = serializers.CharField(help_text="The owner's card number.")
    reward = RewardRefSerializer()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    discount = serializers.DictField(
        help_text='{"kind": "amount", "amount": "50000", "min_spend": "200000"} or '
        '{"kind": "percent", "percent": "10", "cap": "100000", "min_spend": "0"}'
    )


class VoucherApi(PosApiView):
    @extend_schema(
        operation_id="pos_voucher",
        summary="A voucher by its code (with or without dashes)",
        responses={200: VoucherSerializer, 404: ErrorSerializer},
    )
    def get(self, request, code):
        voucher = voucher_find(code)
        if voucher is None:
            raise DomainError("not_found", _("No voucher with this code."))
        return Response(voucher_body(voucher))


class RewardOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    points_cost = serializers.IntegerField()
    available = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)


class MemberRewardsApi(PosApiView):
    @extend_schema(
        operation_id="pos_member_rewards",
        summary="The catalogue as this member sees it, what they can redeem now first",
        responses={200: RewardOfferSerializer(many=True), 404: ErrorSerializer},
    )
    def get(self, request, card_number):
        member = member_by_card_or_404(card_number)
        return Response(
            [
                {
                    "id": offer.reward.pk,
                    "name": offer.reward.name,
                    "kind": offer.reward.kind,
                    "points_cost": offer.points_cost,
                    "available": offer.available,
                    "reason": offer.reason,
                }
                for offer in rewards_for_member(member)
            ]
        )


class RedeemSerializer(serializers.Serializer):
    external_id = ExternalIdField()


class RedeemResultSerializer(serializers.Serializer):
    voucher = VoucherSerializer()
    balance = BalanceSerializer()


class RedeemApi(PosApiView):
    @extend_schema(
        operation_id="pos_reward_redeem",
        summary="Spend the member's points on a reward; issues a voucher",
        request=RedeemSerializer,
        responses={201: RedeemResultSerializer, 200: RedeemResultSerializer, **ERRORS},
        examples=[OpenApiExample("Redeem", value={"external_id": "RDM-0001"}, request_only=True)],
    )
    def post(self, request, card_number, reward_id):
        data = _valid(RedeemSerializer, request.data)
        return self.answer(
            reward_redeem_at_till(
                store=self.store,
                card_number=card_number,
                reward_id=reward_id,
                external_id=data["external_id"],
            )
        )
