"""The member API, mounted at ``/api/v1/me/`` (loyalty/urls.py)."""

from django.urls import path

from member_api import apis

app_name = "member_api"

urlpatterns = [
    path("", apis.MeApi.as_view(), name="me"),
    path("history/", apis.HistoryApi.as_view(), name="history"),
    path("tier/", apis.TierApi.as_view(), name="tier"),
    path("rewards/", apis.RewardsApi.as_view(), name="rewards"),
    path("rewards/<int:reward_id>/redeem/", apis.RedeemApi.as_view(), name="reward_redeem"),
    path("vouchers/", apis.VouchersApi.as_view(), name="vouchers"),
    path("referrals/", apis.ReferralsApi.as_view(), name="referrals"),
    path("notifications/", apis.NotificationsApi.as_view(), name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        apis.NotificationReadApi.as_view(),
        name="notification_read",
    ),
    path("notifications/read/", apis.NotificationsReadAllApi.as_view(), name="notifications_read"),
    path("profile/", apis.ProfileApi.as_view(), name="profile"),
    path("consents/", apis.ConsentsApi.as_view(), name="consents"),
    path("export/", apis.ExportApi.as_view(), name="export"),
]
