"""The console's own pages under /staff/ (included before the admin site's URLs, so these
paths win; none of them is an app label of the admin)."""

from django.urls import include, path

app_name = "console"

urlpatterns = [
    path("", include("console.urls_overview")),  # overview/, api/overview/
    path("", include("console.urls_members")),  # find/, member/<pk>/
    path("", include("console.urls_actions")),  # member/<pk>/<action>/
    path("", include("console.urls_audit")),  # audit/
    path("", include("console.urls_vouchers")),  # member/<pk>/voucher/<pk>/resend/
    path("", include("console.urls_privacy")),  # member/<pk>/export/, member/<pk>/erase/
]
