"""The POS API (contract v1 in shared/pos-api.md). Views are thin: parse, call, answer."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from members.selectors import program_get
from pos.authentication import StoreApiKeyAuthentication


class PosApiView(APIView):
    authentication_classes = [StoreApiKeyAuthentication]
    permission_classes = [IsAuthenticated]


class ProgramSerializer(serializers.Serializer):
    class EarnSerializer(serializers.Serializer):
        per_amount = serializers.DecimalField(
            max_digits=14, decimal_places=2, normalize_output=True
        )
        points = serializers.IntegerField()

    currency = serializers.CharField()
    timezone = serializers.CharField()
    earn = EarnSerializer()
    point_value = serializers.DecimalField(max_digits=12, decimal_places=2, normalize_output=True)
    pending_days = serializers.IntegerField()
    expiry_months = serializers.IntegerField()
    tier_window_months = serializers.IntegerField()
    tiers = serializers.ListField(child=serializers.DictField())
    promotions = serializers.ListField(child=serializers.DictField())


class ProgramApi(PosApiView):
    @extend_schema(
        operation_id="pos_program",
        summary="The programme's rules a POS shows",
        responses=ProgramSerializer,
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
                    "tiers": [],
                    "promotions": [],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        program = program_get()
        data = {
            "currency": program.currency,
            "timezone": settings.TIME_ZONE,
            "earn": {"per_amount": program.earn_per_amount, "points": program.earn_points},
            "point_value": program.point_value,
            "pending_days": program.pending_days,
            "expiry_months": program.expiry_months,
            "tier_window_months": program.tier_window_months,
            # Filled by the tiers and promotions capabilities.
            "tiers": [],
            "promotions": [],
        }
        return Response(ProgramSerializer(data).data)
