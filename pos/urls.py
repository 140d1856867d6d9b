from django.urls import path

from pos import apis

app_name = "pos"

urlpatterns = [
    path("program/", apis.ProgramApi.as_view(), name="program"),
    path("members/lookup", apis.MemberLookupApi.as_view(), name="member_lookup"),
    path("members/lookup/", apis.MemberLookupSlashApi.as_view()),
    path("members/", apis.MemberEnrolApi.as_view(), name="member_enrol"),
    path("members/<str:card_number>/tier/", apis.MemberTierApi.as_view(), name="member_tier"),
    path(
        "members/<str:card_number>/rewards/",
        apis.MemberRewardsApi.as_view(),
        name="member_rewards",
    ),
    path(
        "members/<str:card_number>/rewards/<int:reward_id>/redeem/",
        apis.RedeemApi.as_view(),
        name="reward_redeem",
    ),
    path("vouchers/<str:code>/", apis.VoucherApi.as_view(), name="voucher"),
    path("quote/", apis.QuoteApi.as_view(), name="quote"),
    path("transactions/", apis.TransactionApi.as_view(), name="transactions"),
    path(
        "transactions/<path:external_id>/returns/",
        apis.ReturnApi.as_view(),
        name="transaction_returns",
    ),
]
