from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from campaigns.views import unsubscribe
from loyalty import health, metrics, staff_mfa, views
from members import views_app

# The admin is the staff console (templates/admin/: the brand's name heads every page).
admin.site.site_header = _("Staff console")
admin.site.site_title = _("Staff console")
admin.site.index_title = _("Staff console")

urlpatterns = [
    path("", views.landing, name="landing"),
    path("health/", views.health, name="health"),
    path("healthz", health.healthz, name="healthz"),  # readiness: loyalty.health
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus: loyalty.metrics
    # The staff console: its own pages (console/urls.py) first, then Django's admin, whose
    # index is the console's home. Staff sign in through allauth (rate limits, second
    # factor): loyalty.staff_mfa.
    path("staff/", include("console.urls")),
    path("staff/login/", staff_mfa.admin_login, name="staff_login"),
    path("staff/", admin.site.urls),
    # The admin's old address: every /admin/... path moved to the same path under /staff/.
    re_path(r"^admin/(?P<rest>.*)$", views.admin_moved, name="admin_moved"),
    path("accounts/", include("allauth.urls")),
    # The mobile app's login (allauth headless, client "app"): member_api's README notes.
    path("_allauth/", include("allauth.headless.urls")),
    path("me/tier/", include("tiers.urls")),
    path("me/rewards/", include("rewards.urls")),
    path("me/messages/", include("campaigns.urls")),
    path("unsubscribe/<str:token>/", unsubscribe, name="campaigns_unsubscribe"),
    # me/referrals/, me/promotions/ (promotions' portal pages), then the members' own.
    path("me/", include("promotions.urls")),
    path("me/", include("members.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The brand and the installable card (members.views_app): public, no personal data.
    path("brand/logo", views_app.brand_logo, name="brand_logo"),
    path("brand/theme.css", views_app.brand_theme, name="brand_theme"),
    path("manifest.webmanifest", views_app.manifest, name="manifest"),
    path("sw.js", views_app.service_worker, name="service_worker"),
    path("offline/", views_app.offline, name="offline"),
    path("favicon.ico", views_app.favicon, name="favicon"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves Swagger UI's init script as a file (?script), not inline: CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/pos/", include("pos.urls")),
    path("api/v1/me/", include("member_api.urls")),  # the mobile app: X-Session-Token
]

handler400 = "loyalty.views.handler400"
handler403 = "loyalty.views.handler403"
handler404 = "loyalty.views.handler404"
handler500 = "loyalty.views.handler500"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
