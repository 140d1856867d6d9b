"""With DEBUG off, start-up refuses a mail backend that would print password-reset links to
the log (console) or drop every mail (locmem, dummy), or no EMAIL_URL at all."""

from __future__ import annotations

import subprocess

import pytest

from tests.processes import run_python

PROBE = (
    "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)"
)
PROD = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k" * 60,
    "DJANGO_ALLOWED_HOSTS": "loyalty.example.com",
}


def start(env: dict, tmp_path) -> subprocess.CompletedProcess:
    return run_python(PROBE, env, tmp_path)


@pytest.mark.parametrize(
    "email_url",
    [None, "console://", "locmem://", "dummy://"],
    ids=["unset", "console", "locmem", "dummy"],
)
def test_production_refuses_a_mail_backend_that_logs_or_drops_mail(email_url, tmp_path):
    env = dict(PROD) if email_url is None else {**PROD, "EMAIL_URL": email_url}
    result = start(env, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EMAIL_URL" in result.stderr
    assert "smtp+tls://" in result.stderr  # the message shows what to set


def test_production_starts_with_an_smtp_server(tmp_path):
    result = start({**PROD, "EMAIL_URL": "smtp+tls://u:p@smtp.example.com:587"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"


def test_development_keeps_the_console_backend(tmp_path):
    result = start({"DJANGO_DEBUG": "1"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_the_error_does_not_print_the_mail_password(tmp_path):
    result = start({**PROD, "EMAIL_URL": "console://user:hunter2secret@x"}, tmp_path)
    assert result.returncode != 0
    assert "hunter2secret" not in result.stderr
