"""Settings read the environment strictly: a bad value stops the process at start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import django; django.setup(); from django.conf import settings as s; print({attr})"
PROD = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x" * 64,
    "DJANGO_ALLOWED_HOSTS": "loyalty.example.com",
    "EMAIL_URL": "smtp://smtp.example.com:587",  # a console backend stops start-up
}
VARS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "EMAIL_URL",
    "CACHE_URL",
    "ACCOUNT_EMAIL_VERIFICATION",
    "POS_API_THROTTLE_RATE",
    "LOYALTY_RULES_CACHE_SECONDS",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "LOG_LEVEL",
)


def run_settings(env: dict, attr: str = "s.DEBUG", tmp_path=None):
    clean = {k: v for k, v in os.environ.items() if k not in VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="loyalty.settings")
    if tmp_path is not None:
        clean["LOYALTY_VAR_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(attr=attr)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_environment_gives_the_embedded_default(tmp_path):
    result = run_settings(
        {},
        "s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG, s.EMAIL_BACKEND",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "django.db.backends.sqlite3 True True django.core.mail.backends.console.EmailBackend"
    )
    # The generated dev secret is kept so sessions survive a restart.
    secret = (tmp_path / "dev-secret-key").read_text()
    assert len(secret) >= 50
    again = run_settings(
        {}, "s.SECRET_KEY == open(s.VAR_DIR / 'dev-secret-key').read().strip()", tmp_path
    )
    assert again.stdout.strip() == "True"


def test_urls_switch_to_real_services(tmp_path):
    result = run_settings(
        {
            "DATABASE_URL": "postgres://app:pw@db.internal:5432/loyalty",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "EMAIL_URL": "smtp+tls://mailer:s3cret@smtp.example.com:587?from=hello@example.com",
        },
        "s.DATABASES['default']['HOST'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_HOST, "
        "s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "db.internal",
        "False",
        "smtp.example.com",
        "True",
        "hello@example.com",
    ]


def test_production_values_turn_on_the_security_settings(tmp_path):
    result = run_settings(
        PROD,
        "s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "31536000"]


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "mysql://root@localhost/loyalty"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://localhost"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "http://localhost:6379"}, "CELERY_BROKER_URL"),
        ({"EMAIL_URL": "pigeon://coop"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp://"}, "EMAIL_URL"),
        ({"CACHE_URL": "memcached://localhost"}, "CACHE_URL"),
        ({"DJANGO_ALLOWED_HOSTS": "a.example.com,,b.example.com"}, "DJANGO_ALLOWED_HOSTS"),
        ({"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "x.example.com"}, "DJANGO_SECRET_KEY"),
        ({**PROD, "DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
        ({**PROD, "DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"CELERY_TASK_TIME_LIMIT": "soon"}, "CELERY_TASK_TIME_LIMIT"),
        ({"ACCOUNT_EMAIL_VERIFICATION": "sometimes"}, "ACCOUNT_EMAIL_VERIFICATION"),
        ({"POS_API_THROTTLE_RATE": "lots"}, "POS_API_THROTTLE_RATE"),
        ({"LOYALTY_RULES_CACHE_SECONDS": "-1"}, "LOYALTY_RULES_CACHE_SECONDS"),
        ({"ALLAUTH_TRUSTED_PROXY_COUNT": "two"}, "ALLAUTH_TRUSTED_PROXY_COUNT"),
        ({"CAMPAIGNS_SMS_QUIET_HOURS": "9pm-8am"}, "CAMPAIGNS_SMS_QUIET_HOURS"),
        ({"SMS_BACKEND": "campaigns.channels.sms.HttpBackend"}, "SMS_HTTP_URL"),
        ({"LOYALTY_SITE_URL": "loyalty.example.com"}, "LOYALTY_SITE_URL"),
        ({"CAMPAIGNS_APPROVAL_THRESHOLD": "-5"}, "CAMPAIGNS_APPROVAL_THRESHOLD"),
    ],
)
def test_bad_value_fails_loudly_at_start_naming_the_variable(env, complaint, tmp_path):
    result = run_settings(env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_programme_locale_and_time_zone(settings):
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert settings.LANGUAGE_CODE == "vi"
    assert [code for code, _name in settings.LANGUAGES] == ["vi", "en"]
    assert settings.LOYALTY_CURRENCY == "VND"
