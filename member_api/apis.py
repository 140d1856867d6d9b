"""The member API for a mobile app (``/api/v1/me/``): a member's own card, points, history,
tier, rewards, vouchers, referrals, messages, profile, consents and data download.

Authenticated by allauth's headless session token (``X-Session-Token``) alone; the member is
the token's, never one named in the request (ids, ``member`` or ``card_number`` in a query
or a body are not read). Errors are the POS contract's body (``loyalty.api``), figures are
those of the POS (money as decimal strings, points as integers, dates ISO), and texts are in
the member's language: ``Accept-Language`` when the app sends it, else the member's own.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.selectors import notifications_of_member
from campaigns.services.notifications import notification_mark_read, notifications_mark_all_read
from loyalty.api import check_body_size
from loyalty.errors import DomainError
from loyalty.money import money_text
from member_api.authentication import HEADER, MemberSessionTokenAuthentication, MemberThrottle
from member_api.services import reward_redeem_in_app
from members.forms import ProfileForm
from members.identifiers import phone_display
from members.models import ConsentEvent, Member, PointAccount
from members.selectors import HISTORY_GROUPS, member_consent_history, member_for_user
from members.services import PROFILE_FIELDS, member_set_consent, member_update_profile
from pos.apis import (
    BalanceSerializer,
    ErrorSerializer,
    ExpiringSerializer,
    PosAutoSchema,
    TierRefSerializer,
)
from pos.fields import ExternalIdField, is_printable
from pos.selectors import member_summary
from pos.services.idempotency import Outcome
from promotions.selectors import referrals_of_member
from promotions.templatetags.promotions_tags import short_name
from rewards.selectors import rewards_for_member, voucher_discount_body, vouchers_of_member
from tiers.selectors import tier_of_member, tier_progress, tier_progress_lines

TAG = "Member"
MAX_ID = 2**63 - 1  # the largest id a row can have (a 64-bit primary key)

# The consent source the app's changes are recorded with.
CONSENT_SOURCE = ConsentEvent.Source.APP


# ---------------------------------------------------------------- the frame of every view


class IsMember(BasePermission):
    """A member's own login. No login: the contract's 401 (the view's ``permission_denied``);
    a staff login, or one with no member behind it: 403 (staff read members in the admin,
    where their role and second factor apply, never through a member's API)."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        member = None if (user.is_staff or user.is_superuser) else member_for_user(user)
        if member is None or member.is_erased:
            raise DomainError("permission_denied", _("This login has no membership card."))
        view.member = member
        return True


class MemberAutoSchema(PosAutoSchema):
    """Every member operation documents the errors any request can meet, as the POS's do
    (``PosAutoSchema``): 401 (no or a bad token), 403 (a staff login), 429 (throttle), 503
    (database), with ``Retry-After`` on the last two; a write also 400, 413, 415; an
    operation with a path parameter 404."""

    def get_tags(self):
        return [TAG]

    def _contract_error_codes(self) -> list[int]:
        codes = [401, 403, 429, 503]
        if self.method in ("POST", "PATCH", "PUT"):
            codes += [400, 413, 415]
        if "{" in self.path:
            codes.append(404)
        return codes


class MemberApiView(APIView):
    schema = MemberAutoSchema()
    authentication_classes = [MemberSessionTokenAuthentication]
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    member: Member

    def initial(self, request, *args, **kwargs):
        # A body over 1 MiB is 413 before anything reads it; a path parameter no id holds
        # names nothing.
        check_body_size(request)
        if not all(is_printable(str(value)) for value in kwargs.values()):
            raise DomainError("not_found", _("Not found."))
        super().initial(request, *args, **kwargs)
        if "HTTP_ACCEPT_LANGUAGE" not in request.META and self.member.language:
            translation.activate(self.member.language)
            request.LANGUAGE_CODE = translation.get_language()

    def permission_denied(self, request, message=None, code=None):
        if not (request.user and request.user.is_authenticated):
            if self.request.headers.get(HEADER):
                text = _("The session token is not valid or has expired; log in again.")
            else:
                text = _(
                    "Log in with POST /_allauth/app/v1/auth/login and send the session "
                    "token in the header “X-Session-Token”."
                )
            raise DomainError("not_authenticated", text)
        super().permission_denied(request, message=message, code=code)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code == 401:
            response["WWW-Authenticate"] = HEADER
        return response


class Pages(PageNumberPagination):
    """``?page=N`` (from 1) and ``?page_size=`` (at most 100); a page past the end is 404."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param) or 1
        number = str(number)
        if not (number.isascii() and number.isdigit()) or len(number) > 9:
            raise DomainError("not_found", _("There is no such page."))
        return number

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw.isascii() and raw.isdigit() and len(raw) < 6 and int(raw) > 0:
            return min(int(raw), self.max_page_size)
        return self.page_size


# A paginated list also answers 400 (a filter it does not know) and 404 (a page past the end).
PAGE_ERRORS = {400: ErrorSerializer, 404: ErrorSerializer}


def page_of(view: MemberApiView, queryset):
    """The page of ``queryset`` the request asks for, and a function making the answer."""
    pages = Pages()
    page = pages.paginate_queryset(queryset, view.request, view=view)
    return page, pages.get_paginated_response


def paginated(serializer) -> type:
    """The schema of a page of ``serializer`` items."""
    name = serializer.__class__.__name__.removesuffix("Serializer")
    return inline_serializer(
        f"{name}Page",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer.__class__(many=True),
        },
    )


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _iso(value):
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------- GET /api/v1/me/


class MemberCardSerializer(serializers.Serializer):
    card_number = serializers.CharField()
    full_name = serializers.CharField()
    phone = serializers.CharField(allow_null=True, help_text="E.164, e.g. +84912345678.")
    email = serializers.EmailField(allow_null=True)
    tier = TierRefSerializer()
    points = BalanceSerializer()
    expiring = ExpiringSerializer(allow_null=True)
    referral_code = serializers.CharField()


def tier_ref(tier) -> dict | None:
    if tier is None:
        return None
    name = tier.localised("name") if hasattr(tier, "localised") else tier.name
    return {"code": tier.code, "name": name}


class MeApi(MemberApiView):
    @extend_schema(
        operation_id="me",
        summary="The member's card: number, tier and points (the figures the POS shows)",
        responses={200: MemberCardSerializer},
        examples=[
            OpenApiExample(
                "Member",
                value={
                    "card_number": "321505275149",
                    "full_name": "Nguyễn Thị Mai",
                    "phone": "+84912345678",
                    "email": "mai@example.com",
                    "tier": {"code": "silver", "name": "Bạc"},
                    "points": {"available": 320, "pending": 15},
                    "expiring": {"points": 40, "on": "2027-01-31"},
                    "referral_code": "K7M2Q9XA",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        member = self.member
        summary = member_summary(member)  # the POS lookup's own figures
        return Response(
            {
                "card_number": summary["card_number"],
                "full_name": summary["full_name"],
                "phone": member.phone or None,
                "email": member.email or None,
                "tier": tier_ref(tier_of_member(member.pk)),
                "points": summary["points"],
                "expiring": summary["expiring"],
                "referral_code": summary["referral_code"],
            }
        )


# ---------------------------------------------------------------- history


class MemberHistoryItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    group = serializers.ChoiceField(choices=list(HISTORY_GROUPS))
    points = serializers.IntegerField(help_text="Positive for points in, negative for out.")
    status = serializers.CharField(
        help_text="pending, available, expired or cancelled for points in; done otherwise."
    )
    available_on = serializers.DateField(allow_null=True)
    occurred_on = serializers.DateField(help_text="The purchase's date for a purchase.")
    recorded_at = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    receipt = serializers.CharField(allow_null=True)
    store_code = serializers.CharField(allow_null=True)
    store_name = serializers.CharField(allow_null=True)
    amount = serializers.CharField(allow_null=True, help_text="The purchase's total, a decimal.")


def history_item_body(item) -> dict:
    return {
        "id": item.id,
        "kind": item.kind,
        "group": item.group,
        "points": item.points,
        "status": item.status,
        "available_on": _iso(item.available_on),
        "occurred_on": _iso(item.occurred_on),
        "recorded_at": _iso(item.recorded_at),
        "title": str(item.title),
        "detail": str(item.detail or ""),
        "receipt": item.receipt,
        "store_code": item.store_code,
        "store_name": item.store_name,
        "amount": money_text(item.amount) if item.amount is not None else None,
    }


class HistoryApi(MemberApiView):
    @extend_schema(
        operation_id="me_history",
        summary="The member's points history, newest first, in words",
        parameters=[
            OpenApiParameter("group", str, enum=list(HISTORY_GROUPS), required=False),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False, description="At most 100."),
        ],
        responses={200: paginated(MemberHistoryItemSerializer()), **PAGE_ERRORS},
    )
    def get(self, request):
        from members import selectors

        group = request.query_params.get("group") or None
        if group is not None and group not in HISTORY_GROUPS:
            raise DomainError(
                "validation_error",
                _("Some fields are invalid."),
                details={"group": [_("Choose one of: %s.") % ", ".join(HISTORY_GROUPS)]},
            )
        entries = selectors.member_history(self.member, group=group)
        page, answer = page_of(self, entries)
        return answer([history_item_body(item) for item in selectors.history_items(page)])


# ---------------------------------------------------------------- tier


class MemberTierProgressSerializer(serializers.Serializer):
    tier = TierRefSerializer()
    next_tier = TierRefSerializer(allow_null=True, help_text="None at the top tier.")
    window_start = serializers.DateField(help_text="The first day purchases count from.")
    window_end = serializers.DateField()
    window_months = serializers.IntegerField()
    spend = serializers.CharField(help_text="Qualifying spend in the window, a decimal.")
    purchases = serializers.IntegerField()
    spend_needed = serializers.CharField(help_text="More spend the next tier needs (0: met).")
    purchases_needed = serializers.IntegerField()
    by_date = serializers.DateField(
        allow_null=True, help_text="The last day on which that reaches the next tier."
    )
    upgrade_on = serializers.DateField(
        allow_null=True, help_text="Already qualified: the next tier is theirs from this day."
    )
    keep_until = serializers.DateField(
        allow_null=True, help_text="The last day the tier is sure to be held."
    )
    keeps_for_good = serializers.BooleanField()
    keep_spend_needed = serializers.CharField(help_text="What keeps the tier after keep_until.")
    keep_purchases_needed = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="0 to 100 toward the next tier.")
    lines = serializers.ListField(
        child=serializers.CharField(), help_text="The same, in sentences, as the portal says it."
    )


def tier_progress_body(progress) -> dict:
    return {
        "tier": tier_ref(progress.tier),
        "next_tier": tier_ref(progress.next_tier),
        "window_start": _iso(progress.window_start),
        "window_end": _iso(progress.window_end),
        "window_months": progress.window_months,
        "spend": money_text(progress.spend),
        "purchases": progress.purchases,
        "spend_needed": money_text(progress.spend_needed),
        "purchases_needed": progress.purchases_needed,
        "by_date": _iso(progress.by_date),
        "upgrade_on": _iso(progress.upgrade_on),
        "keep_until": _iso(progress.keep_until),
        "keeps_for_good": progress.keeps_for_good,
        "keep_spend_needed": money_text(progress.keep_spend_needed),
        "keep_purchases_needed": progress.keep_purchases_needed,
        "percent": int(progress.percent),
        "lines": [str(line) for line in tier_progress_lines(progress)],
    }


class TierApi(MemberApiView):
    @extend_schema(
        operation_id="me_tier",
        summary="The member's tier and what the next one, or keeping theirs, needs",
        responses={200: MemberTierProgressSerializer},
    )
    def get(self, request):
        return Response(tier_progress_body(tier_progress(self.member.pk)))


# ---------------------------------------------------------------- rewards and vouchers


class MemberRewardOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    kind = serializers.CharField()
    points_cost = serializers.IntegerField(help_text="For this member's tier.")
    available = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why not, in words.")
    reason_code = serializers.CharField(allow_null=True)
    image = serializers.CharField(allow_null=True, help_text="The image's path, if any.")


def _text(obj, field: str) -> str:
    if hasattr(obj, "localised"):
        return obj.localised(field)
    return getattr(obj, field, "") or ""


class RewardsApi(MemberApiView):
    @extend_schema(
        operation_id="me_rewards",
        summary="The catalogue as the member sees it, what they can redeem now first",
        responses={200: MemberRewardOfferSerializer(many=True)},
    )
    def get(self, request):
        return Response(
            [
                {
                    "id": offer.reward.pk,
                    "name": _text(offer.reward, "name"),
                    "description": _text(offer.reward, "description"),
                    "kind": offer.reward.kind,
                    "points_cost": offer.points_cost,
                    "available": offer.available,
                    "reason": str(offer.reason) if offer.reason else None,
                    "reason_code": offer.reason_code,
                    "image": offer.reward.image.url if offer.reward.image else None,
                }
                for offer in rewards_for_member(self.member)
            ]
        )


class MemberVoucherSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField(help_text="issued, used, expired or cancelled.")
    reward = inline_serializer(
        "MemberVoucherReward",
        fields={
            "id": serializers.IntegerField(),
            "name": serializers.CharField(),
            "kind": serializers.CharField(),
        },
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    points_spent = serializers.IntegerField()
    partner_code = serializers.CharField(allow_null=True)
    cancellable_until = serializers.DateTimeField(allow_null=True)
    discount = serializers.DictField(help_text="As the POS voucher's `discount`.")


def voucher_body(voucher) -> dict:
    from django.utils import timezone

    status = voucher.status
    if status == "issued" and voucher.valid_until < timezone.localdate():
        status = "expired"
    return {
        "code": voucher.code,
        "status": status,
        "reward": {
            "id": voucher.reward_id,
            "name": _text(voucher.reward, "name"),
            "kind": voucher.kind,
        },
        "valid_from": _iso(voucher.valid_from),
        "valid_until": _iso(voucher.valid_until),
        "points_spent": voucher.points_spent,
        "partner_code": voucher.partner_code or None,
        "cancellable_until": _iso(voucher.cancellable_until),
        "discount": voucher_discount_body(voucher),
    }


class MemberRedeemSerializer(serializers.Serializer):
    external_id = ExternalIdField(
        help_text="The app's own id of this redemption: a repeat with the same id answers "
        "the first result again (`Idempotent-Replayed: true`), a different reward is 409."
    )


class MemberRedeemResultSerializer(serializers.Serializer):
    voucher = MemberVoucherSerializer()
    balance = BalanceSerializer()


class RedeemApi(MemberApiView):
    @extend_schema(
        operation_id="me_reward_redeem",
        summary="Spend points on a reward; issues a voucher (idempotent by external_id)",
        request=MemberRedeemSerializer,
        responses={
            201: MemberRedeemResultSerializer,
            200: MemberRedeemResultSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
        },
        examples=[OpenApiExample("Redeem", value={"external_id": "app-7f3c"}, request_only=True)],
    )
    def post(self, request, reward_id):
        if reward_id > MAX_ID:  # no row has it (and the database's integer cannot hold it)
            raise DomainError("not_found", _("No reward with this id."))
        data = _valid(MemberRedeemSerializer, request.data)
        member = self.member

        def body(voucher) -> dict:
            account = PointAccount.objects.get(pk=member.pk)
            return {
                "voucher": voucher_body(voucher),
                "balance": {"available": account.available, "pending": account.pending},
            }

        outcome: Outcome = reward_redeem_in_app(
            member=member, reward_id=reward_id, external_id=data["external_id"], body=body
        )
        if outcome.replayed:
            return Response(outcome.body, status=200, headers={"Idempotent-Replayed": "true"})
        return Response(outcome.body, status=outcome.status)


class VouchersApi(MemberApiView):
    @extend_schema(
        operation_id="me_vouchers",
        summary="The member's vouchers: ready to use first (soonest to expire first)",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: paginated(MemberVoucherSerializer()), **PAGE_ERRORS},
    )
    def get(self, request):
        page, answer = page_of(self, vouchers_of_member(self.member))
        return answer([voucher_body(voucher) for voucher in page])


# ---------------------------------------------------------------- referrals, notifications


class MemberReferralsSerializer(serializers.Serializer):
    referral_code = serializers.CharField()
    share_url = serializers.URLField()
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    points_earned = serializers.IntegerField()
    vouchers_earned = serializers.IntegerField()
    referrals = inline_serializer(
        "MemberReferral",
        fields={
            "name": serializers.CharField(help_text="The friend's given name and initial."),
            "status": serializers.CharField(),
            "joined_on": serializers.DateField(),
            "points": serializers.IntegerField(help_text="Points this referral earned you."),
        },
        many=True,
    )


class ReferralsApi(MemberApiView):
    @extend_schema(
        operation_id="me_referrals",
        summary="The member's referral code and the friends who joined with it",
        responses={200: MemberReferralsSerializer},
    )
    def get(self, request):
        from urllib.parse import urlencode

        from django.urls import reverse

        member = self.member
        mine = referrals_of_member(member)
        share = f"{reverse('account_signup')}?{urlencode({'ref': member.referral_code})}"
        return Response(
            {
                "referral_code": member.referral_code,
                "share_url": request.build_absolute_uri(share),
                "total": mine.total,
                "counts": mine.counts,
                "points_earned": mine.points_earned,
                "vouchers_earned": mine.vouchers_earned,
                "referrals": [
                    {
                        "name": short_name(referral.referee.full_name),
                        "status": referral.status,
                        "joined_on": _iso(referral.joined_on),
                        "points": referral.referrer_points,
                    }
                    for referral in mine.referrals
                ],
            }
        )


class MemberNotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationsApi(MemberApiView):
    @extend_schema(
        operation_id="me_notifications",
        summary="The member's messages, newest first",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: paginated(MemberNotificationSerializer()), **PAGE_ERRORS},
    )
    def get(self, request):
        page, answer = page_of(self, notifications_of_member(self.member))
        return answer([notification_body(notification) for notification in page])


def notification_body(notification) -> dict:
    return {
        "id": notification.pk,
        "title": notification.title,
        "body": notification.body,
        "created_at": _iso(notification.created_at),
        "read_at": _iso(notification.read_at),
    }


class NotificationReadApi(MemberApiView):
    @extend_schema(
        operation_id="me_notification_read",
        summary="Mark one of the member's messages read (another member's: 404)",
        request=None,
        responses={200: MemberNotificationSerializer, 404: ErrorSerializer},
    )
    def post(self, request, pk):
        if pk > MAX_ID or not notification_mark_read(member=self.member, notification_id=pk):
            raise DomainError("not_found", _("No message with this id."))
        return Response(notification_body(notifications_of_member(self.member).get(pk=pk)))


class NotificationsReadAllApi(MemberApiView):
    @extend_schema(
        operation_id="me_notifications_read_all",
        summary="Mark all the member's messages read",
        request=None,
        responses={
            200: inline_serializer(
                "MemberNotificationsRead", fields={"marked": serializers.IntegerField()}
            )
        },
    )
    def post(self, request):
        return Response({"marked": notifications_mark_all_read(member=self.member)})


# ---------------------------------------------------------------- profile and consents

# What the app may change: the portal's profile form (email changes through allauth's
# /_allauth/app/v1/account/email, where the new address is verified).
EDITABLE = tuple(f for f in ProfileForm.base_fields if f in PROFILE_FIELDS)
NULLABLE = ("birth_date", "gender", "province", "occupation")


class MemberProfileSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    phone = serializers.CharField(allow_null=True, help_text="E.164 (any common form in).")
    email = serializers.EmailField(
        allow_null=True, read_only=True, help_text="Changed through allauth's account/email."
    )
    birth_date = serializers.DateField(allow_null=True)
    gender = serializers.ChoiceField(choices=Member.Gender.choices, allow_null=True)
    province = serializers.CharField(allow_null=True)
    occupation = serializers.CharField(allow_null=True)
    language = serializers.ChoiceField(choices=["vi", "en"])


class MemberProfilePatchSerializer(serializers.Serializer):
    full_name = serializers.CharField(required=False)
    birth_date = serializers.DateField(required=False, allow_null=True)
    gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False, allow_null=True)
    province = serializers.CharField(required=False, allow_null=True)
    occupation = serializers.CharField(required=False, allow_null=True)
    language = serializers.ChoiceField(choices=["vi", "en"], required=False)


def profile_body(member: Member) -> dict:
    return {
        "full_name": member.full_name or "",
        "phone": member.phone or None,
        "email": member.email or None,
        "birth_date": _iso(member.birth_date),
        "gender": member.gender or None,
        "province": member.province or None,
        "occupation": member.occupation or None,
        "language": member.language,
    }


def _form_value(member: Member, field: str) -> str:
    if field == "phone":
        return phone_display(member.phone)
    value = getattr(member, field)
    return value.isoformat() if hasattr(value, "isoformat") else (value or "")


def _invalid(details: dict) -> DomainError:
    return DomainError("validation_error", _("Some fields are invalid."), details=details)


def _strings_only(data, fields) -> dict:
    """The body's values for ``fields``, each a string (or null where a field may be
    empty); another JSON type is 400 for that field, before the form sees it."""
    if not isinstance(data, dict):
        raise _invalid({"non_field_errors": [_("Send a JSON object.")]})
    errors, values = {}, {}
    for field in fields:
        if field not in data:
            continue
        value = data[field]
        if value is None and field in NULLABLE:
            values[field] = ""
        elif isinstance(value, str):
            values[field] = value
        else:
            errors[field] = [_("Send text.")]
    if errors:
        raise _invalid(errors)
    return values


class ProfileApi(MemberApiView):
    @extend_schema(
        operation_id="me_profile",
        summary="The member's profile",
        responses={200: MemberProfileSerializer},
    )
    def get(self, request):
        return Response(profile_body(self.member))

    @extend_schema(
        operation_id="me_profile_update",
        summary="Change the profile (the portal's rules: name, birth date, ...)",
        description=(
            "The phone logs in, so a new one is proven by a code: "
            "`POST /_allauth/app/v1/account/phone` then the code. The email likewise, "
            "through `/_allauth/app/v1/account/email`."
        ),
        request=MemberProfilePatchSerializer,
        responses={200: MemberProfileSerializer, 409: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Occupation and language",
                value={"occupation": "Kỹ sư", "language": "en"},
                request_only=True,
            )
        ],
    )
    def patch(self, request):
        member = self.member
        if isinstance(request.data, dict) and "phone" in request.data:
            raise _invalid(
                {
                    "phone": [
                        _(
                            "A new phone is proven by a code: POST /_allauth/app/v1/account/"
                            "phone, then the code sent to it."
                        )
                    ]
                }
            )
        changes = _strings_only(request.data, EDITABLE)
        form = ProfileForm({f: _form_value(member, f) for f in EDITABLE} | changes)
        if not form.is_valid():
            raise _invalid({field: list(errors) for field, errors in form.errors.items()})
        try:
            member = member_update_profile(
                member=member,
                acting_user=request.user,
                **{f: form.cleaned_data[f] for f in changes if f in form.cleaned_data},
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise _invalid(exc.message_dict) from None
            raise _invalid({"non_field_errors": exc.messages}) from None
        member.refresh_from_db()
        return Response(profile_body(member))


class MemberConsentsSerializer(serializers.Serializer):
    email_consent = serializers.BooleanField()
    sms_consent = serializers.BooleanField()
    history = inline_serializer(
        "MemberConsentEvent",
        fields={
            "channel": serializers.ChoiceField(choices=["email", "sms"]),
            "granted": serializers.BooleanField(),
            "source": serializers.CharField(),
            "at": serializers.DateTimeField(),
        },
        many=True,
    )


class MemberConsentsPatchSerializer(serializers.Serializer):
    email_consent = serializers.BooleanField(required=False)
    sms_consent = serializers.BooleanField(required=False)


def consents_body(member: Member) -> dict:
    return {
        "email_consent": member.email_consent,
        "sms_consent": member.sms_consent,
        "history": [
            {
                "channel": event.channel,
                "granted": event.granted,
                "source": event.source,
                "at": _iso(event.at),
            }
            for event in member_consent_history(member)[:20]
        ],
    }


class ConsentsApi(MemberApiView):
    @extend_schema(
        operation_id="me_consents",
        summary="The member's marketing consents and their history",
        responses={200: MemberConsentsSerializer},
    )
    def get(self, request):
        return Response(consents_body(self.member))

    @extend_schema(
        operation_id="me_consents_update",
        summary="Give or withdraw consent per channel (recorded with its source, the app)",
        request=MemberConsentsPatchSerializer,
        responses={200: MemberConsentsSerializer},
        examples=[OpenApiExample("Withdraw SMS", value={"sms_consent": False}, request_only=True)],
    )
    def patch(self, request):
        if not isinstance(request.data, dict):
            raise _invalid({"non_field_errors": [_("Send a JSON object.")]})
        errors = {}
        for field in ("email_consent", "sms_consent"):
            if field in request.data and not isinstance(request.data[field], bool):
                errors[field] = [_("Send true or false.")]
        if errors:
            raise _invalid(errors)
        member = self.member
        for channel in ("email", "sms"):
            field = f"{channel}_consent"
            if field in request.data:
                member_set_consent(
                    member=member,
                    channel=channel,
                    granted=request.data[field],
                    source=CONSENT_SOURCE,
                    acting_user=request.user,
                )
        member.refresh_from_db()
        return Response(consents_body(member))


# ---------------------------------------------------------------- the data download


class ExportApi(MemberApiView):
    @extend_schema(
        operation_id="me_export",
        summary="Everything held about the member, as JSON (the portal's data download)",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        from members.models import DataRequest
        from members.services import privacy

        response = Response(privacy.member_data_export(self.member))
        response["Cache-Control"] = "private, no-store"
        # Each request is recorded, as the portal's download is (the member's own channel).
        privacy.data_request_record(
            member=self.member,
            kind=DataRequest.Kind.EXPORT,
            acting_user=request.user,
            channel=DataRequest.Channel.API,
        )
        return response
