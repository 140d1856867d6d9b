"""Settings for the loyalty platform: one module, driven by the environment.

With no environment at all this is the embedded development setup: a SQLite file, Celery
tasks executed in-process, mail printed to the console, DEBUG on and a generated secret kept
in ``var/``. Setting the variables of the README's configuration table switches to real
services. A malformed value stops the process at start (see ``loyalty.env``).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from loyalty import env, logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.get("LOYALTY_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.get_bool("DJANGO_DEBUG", default=env.get("DJANGO_SECRET_KEY") is None)


def _dev_secret_key() -> str:
    """A random secret generated once per checkout, so dev sessions survive restarts."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.get("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    SECRET_KEY = _dev_secret_key()
elif len(SECRET_KEY) < 50 and not DEBUG:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")

SECRET_KEY_FALLBACKS = env.get_list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.get_list(
    "DJANGO_ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [],
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.get_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "loyalty.apps.LoyaltyAdminConfig",  # django.contrib.admin; a missing object is a 404
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",  # staff second factor: the "Staff sign-in" block below
    "allauth.headless",  # the mobile app's login: the "Member API" block below
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "loyalty",
    "members",
    "tiers",
    "rewards",
    "campaigns",
    "promotions",
    "pos",
    "member_api",  # the mobile app's API under /api/v1/me/
    "insights",  # the figures: daily facts and the overview's selectors
    "console",  # the staff console's own pages under /staff/
]

MIDDLEWARE = [
    # Operations: latency measured around everything, the request id set before any log line.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "loyalty.request_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy block below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "loyalty.middleware.VietnameseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "members.pwa.ClearSiteDataOnLogoutMiddleware",  # logout empties the offline card
    "loyalty.staff_mfa.StaffMFAMiddleware",  # the "Staff sign-in" block below
    "member_api.middleware.HeadlessInputGuard",  # bad input allauth's app API would 500 on
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # requests by view (metrics)
]

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": env.get_database("DATABASE_URL", str(VAR_DIR / "db.sqlite3"))}
# --- PgBouncer ---
# DATABASE_POOLER=pgbouncer when DATABASE_URL points at PgBouncer in transaction mode: each
# transaction may land on another server connection, so no server-side cursors (Django's
# .iterator() would open one outside a transaction). The code takes transaction-level
# advisory locks only (pg_advisory_xact_lock), SET LOCAL and temporary tables inside one
# transaction, and psycopg2 prepares no statements: nothing else depends on the session.
DATABASE_POOLER = env.get("DATABASE_POOLER", "none")
if DATABASE_POOLER not in {"none", "pgbouncer"}:
    raise ImproperlyConfigured(f"DATABASE_POOLER={DATABASE_POOLER!r}: use none or pgbouncer.")
if DATABASE_POOLER == "pgbouncer":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# --- end PgBouncer ---
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.get_cache("CACHE_URL")}

AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth 65, no usernames. Members log in with their phone (any Vietnamese form:
# the adapter normalises it to E.164 with members.identifiers) and a one-time code sent by
# SMS, or phone and password; anyone by email and password (staff: email only, they have no
# phone). The phone lives on members.Member (members.adapters maps allauth's phone onto it).
# "phone" is optional for allauth (staff have none) and required by members.forms.SignupForm.
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1*", "password2*"]
ACCOUNT_FORMS = {
    "login": "members.login_forms.LoginForm",
    "request_login_code": "members.login_forms.RequestLoginCodeForm",
    "confirm_login_code": "members.login_forms.ConfirmLoginCodeForm",
    "verify_phone": "members.login_forms.VerifyPhoneForm",
}
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 5 * 60  # seconds a code is good for
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3  # wrong codes before the code is void
# A member enrolled at the till proves the phone with a code before the login is attached
# to their membership (members.services.claim); see members.adapters.
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 10 * 60
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
# Six digits: typed from an SMS on a phone's number pad (email codes keep allauth's format).
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
# Login and verification SMS go straight to the provider (loyalty.auth_sms), never through
# campaigns or its SMS log. Unset: SMS_BACKEND, unless that is the log backend, which would
# keep the code readable in the SMS log; then the console backend (the code in the server
# log with DEBUG on; with DEBUG off nothing is sent and an error is logged, never the code).
AUTH_SMS_BACKEND = env.get("AUTH_SMS_BACKEND")
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.get("ACCOUNT_EMAIL_VERIFICATION", "optional")
if ACCOUNT_EMAIL_VERIFICATION not in {"none", "optional", "mandatory"}:
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be none, optional or mandatory.")
ACCOUNT_SIGNUP_FORM_CLASS = "members.forms.SignupForm"
ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Per client address (ip) and per phone/email (key). An SMS costs money and can be abused
# to flood a number: 3 login codes per phone in 10 minutes, 1 verification code per 30 s
# and 5 per hour per phone; the Nth request beyond is refused and nothing is sent.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "request_login_code": "10/m/ip,3/10m/key",
    "verify_phone": "1/30s/key,5/h/key,5/m/ip",
}

# --- Staff sign-in (issue #12) ---
# Staff sign in through allauth like members (the admin's login page sends them there), so
# the login_failed limits above apply, and then its MFA stage: TOTP and recovery codes. A
# superuser or Program admin without an authenticator app is sent to set one up before any
# admin or staff page (loyalty.staff_mfa). The QR code is drawn with segno.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "members.mfa_adapter.MFAAdapter"
# --- end Staff sign-in ---

# --- Member API (issue #13) ---
# A mobile app logs in through allauth's headless "app" API (/_allauth/app/v1/auth/login,
# the same login methods, rate limits and MFA stage as the portal's pages) and then sends
# the session token it gets as ``X-Session-Token`` to /api/v1/me/ (member_api). The browser
# client is not needed: the portal is the site's own pages. Links in mails (password reset,
# email confirmation) keep pointing at the portal's pages: no HEADLESS_FRONTEND_URLS.
HEADLESS_CLIENTS = ("app",)
HEADLESS_ONLY = False
# Requests per member per minute on /api/v1/me/ (DRF rate syntax).
MEMBER_API_THROTTLE_RATE = env.get("MEMBER_API_THROTTLE_RATE", "120/min")
if not re.fullmatch(r"[1-9]\d*/(s|sec|m|min|h|hour|d|day)", MEMBER_API_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"MEMBER_API_THROTTLE_RATE={MEMBER_API_THROTTLE_RATE!r}: use requests/period, e.g. 120/min."
    )
# --- end Member API ---

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
FORMAT_MODULE_PATH = ["loyalty.formats"]  # thousands grouped in both languages
# The project's strings; allauth's (it ships no Vietnamese); Django's and django-celery-beat's
# that their own Vietnamese lacks (loyalty/django_locale, kept by hand).
LOCALE_PATHS = [
    BASE_DIR / "locale",
    BASE_DIR / "loyalty" / "allauth_locale",
    BASE_DIR / "loyalty" / "django_locale",
]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
# The programme's currency; the POS contract refuses any other.
LOYALTY_CURRENCY = "VND"
LOYALTY_PHONE_REGION = "VN"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

globals().update(env.get_email("EMAIL_URL"))
if not DEBUG:
    # Production: the console backend would print password-reset links into the log.
    env.require_real_email("EMAIL_URL")
# A mail server that hangs must not hold a campaign send past its claim (CAMPAIGNS_CLAIM_TIMEOUT).
EMAIL_TIMEOUT = env.get_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = globals().get("DEFAULT_FROM_EMAIL", "Loyalty <noreply@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "loyalty.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["loyalty.api.StrictJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "COERCE_DECIMAL_TO_STRING": True,
}
# How long a web process keeps the programme's rules, tiers and API keys in memory (seconds;
# 0 disables). A change made elsewhere reaches every process within this time.
LOYALTY_RULES_CACHE_SECONDS = env.get_int("LOYALTY_RULES_CACHE_SECONDS", 30, minimum=0)
# Requests per store API key (DRF rate syntax: "1000/min", "50/s").
POS_API_THROTTLE_RATE = env.get("POS_API_THROTTLE_RATE", "1000/min")
if not re.fullmatch(r"[1-9]\d*/(s|sec|m|min|h|hour|d|day)", POS_API_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"POS_API_THROTTLE_RATE={POS_API_THROTTLE_RATE!r}: use requests/period, e.g. 1000/min."
    )
# Behind N reverse proxies, the client's IP is the N-th address from the right of
# X-Forwarded-For (read by allauth and the referral checks).
ALLAUTH_TRUSTED_PROXY_COUNT = env.get_int("ALLAUTH_TRUSTED_PROXY_COUNT", 0, minimum=0)

# Campaigns. Links in messages (unsubscribe, the card) start with LOYALTY_SITE_URL: by
# default the first allowed host over HTTPS (the dev server in debug).
_SITE_HOST = next((h.lstrip(".") for h in ALLOWED_HOSTS if h not in ("*", "testserver")), "")
LOYALTY_SITE_URL = env.get(
    "LOYALTY_SITE_URL",
    "http://127.0.0.1:8000" if DEBUG or not _SITE_HOST else f"https://{_SITE_HOST}",
).rstrip("/")
if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", LOYALTY_SITE_URL):
    raise ImproperlyConfigured(
        f"LOYALTY_SITE_URL={LOYALTY_SITE_URL!r}: use the portal's address, e.g. "
        "https://loyalty.example.com."
    )
# Dotted path of the SMS backend: the default logs each SMS (and keeps it in the SMS log);
# campaigns.channels.sms.HttpBackend posts to SMS_HTTP_URL with retries.
SMS_BACKEND = env.get("SMS_BACKEND", "campaigns.channels.sms.LogBackend")
SMS_HTTP_URL = env.get("SMS_HTTP_URL")
SMS_HTTP_TOKEN = env.get("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = env.get_int("SMS_HTTP_TIMEOUT", 10, minimum=1)
SMS_HTTP_RETRIES = env.get_int("SMS_HTTP_RETRIES", 3, minimum=0)
SMS_SENDER = env.get("SMS_SENDER", "LOYALTY")
if SMS_BACKEND.endswith(".HttpBackend") and not SMS_HTTP_URL:
    raise ImproperlyConfigured("SMS_HTTP_URL must be set for the HTTP SMS backend.")
# No SMS in these local hours (the programme's time zone); one due then waits for the end.
CAMPAIGNS_SMS_QUIET_HOURS = env.get("CAMPAIGNS_SMS_QUIET_HOURS", "21:00-08:00")
if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", CAMPAIGNS_SMS_QUIET_HOURS):
    raise ImproperlyConfigured(
        f"CAMPAIGNS_SMS_QUIET_HOURS={CAMPAIGNS_SMS_QUIET_HOURS!r}: use HH:MM-HH:MM, e.g. "
        "21:00-08:00."
    )
# A campaign reaching more members than this needs a programme admin's approval.
CAMPAIGNS_APPROVAL_THRESHOLD = env.get_int("CAMPAIGNS_APPROVAL_THRESHOLD", 10_000, minimum=0)
# A send claimed this long ago (seconds) whose worker never finished it is claimed again. A
# live worker renews its claims as it goes (every quarter of this, and each send as it
# starts), so this only has to outlast one send's delivery; it is how long the work of a
# worker that was killed waits before the tick hands it to another.
CAMPAIGNS_CLAIM_TIMEOUT = env.get_int("CAMPAIGNS_CLAIM_TIMEOUT", 180, minimum=1)
# The Celery queue of the delivery tasks (unset: the default queue).
CAMPAIGNS_QUEUE = env.get("CAMPAIGNS_QUEUE")
# --- Single-run locks and lost work (issue #12) ---
# Every periodic task holds a lease row (loyalty.single_run) renewed while it runs: a second
# copy skips; a holder killed with SIGKILL stops blocking the job after this many seconds.
SINGLE_RUN_LEASE_SECONDS = env.get_int("SINGLE_RUN_LEASE_SECONDS", 120, minimum=10)
# --- end Single-run locks ---
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": "POS integration API (contract v1) and the platform's own endpoints.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: without a broker, tasks run in-process (the embedded default).
CELERY_BROKER_URL = env.get_broker_url("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.get("CELERY_RESULT_BACKEND")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.get_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env.get_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must exceed CELERY_TASK_SOFT_TIME_LIMIT.")
# Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the
# longest task, or a long nightly job would be handed to a second worker while still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 15 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers log through Django's LOGGING (JSON, masked, with the task id): see loyalty.celery.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Nightly jobs at local (Asia/Ho_Chi_Minh) times. DatabaseScheduler copies these entries
# into django-celery-beat's tables at start, so the schedule in code is the one that runs.
CELERY_BEAT_SCHEDULE = {
    "run-daily-jobs": {
        "task": "loyalty.tasks.run_daily_jobs",
        "schedule": crontab(hour=1, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    # Campaigns: start and finish on time, send one-off campaigns at their time, hand out
    # sends that are due (after quiet hours, a retry's back-off, a worker that died).
    "campaigns-tick": {
        "task": "campaigns.tasks.tick",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.get_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.get_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Content-Security-Policy (django-csp 4) ---
# Every page, the admin and the API docs included, loads scripts, styles, fonts and images
# from this origin only: no inline script or style (templates link files under static/), no
# eval, no third-party origin. `data:` images are for the MFA setup page's QR code. The other
# security headers above stay (X-Frame-Options, nosniff, Referrer-Policy; COOP is Django's
# default "same-origin"; HSTS with DEBUG off).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
# --- end Content-Security-Policy ---

# --- Logging (loyalty.logs) ---
# JSON lines in production (plain text in DEBUG; LOG_FORMAT=json|plain overrides), every
# record with request_id, store, task_id and task_name, phones, emails and secrets masked.
LOG_FORMAT = env.get("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or plain.")
LOGGING = logs.logging_config(log_format=LOG_FORMAT, level=env.get("LOG_LEVEL", "INFO"))
# --- end Logging ---

# --- Health checks (loyalty.health, /healthz) ---
# The nightly jobs' last success may be this old (hours) before /healthz reports unhealthy;
# 0 turns the check off. On by default when there is a broker (beat runs the nightly jobs).
HEALTH_NIGHTLY_MAX_AGE_HOURS = env.get_int("HEALTH_NIGHTLY_MAX_AGE_HOURS", 26, minimum=0)
HEALTH_NIGHTLY_CHECK = env.get_bool("HEALTH_NIGHTLY_CHECK", default=bool(CELERY_BROKER_URL))
# --- end Health checks ---

# --- Metrics (loyalty.metrics, /metrics) ---
# /metrics answers addresses in METRICS_ALLOWED_IPS (addresses or networks) when they scrape
# directly, or anyone sending "Authorization: Bearer <METRICS_TOKEN>"; everyone else a 404.
METRICS_ALLOWED_IPS = env.get_list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(i, strict=False) for i in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from None
METRICS_TOKEN = env.get("METRICS_TOKEN")
if METRICS_TOKEN is not None and len(METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 24 characters long.")
# --- end Metrics ---
