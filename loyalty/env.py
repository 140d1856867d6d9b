"""Strict readers for the environment variables the settings use.

Every reader raises ``ImproperlyConfigured`` naming the variable when a value is present but
malformed, so a typo in a deployment stops the process at start instead of silently falling
back to a default.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def get_bool(name: str, default: bool) -> bool:
    value = get(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of {sorted(_TRUE | _FALSE)}."
    )


def get_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def get_list(name: str, default: list[str]) -> list[str]:
    value = get(name)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name}={value!r} has an empty item; separate with commas.")
    return items


_DB_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def get_database(name: str, default_sqlite_path: str) -> dict:
    value = get(name)
    if value is None:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": default_sqlite_path,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    scheme = urlsplit(value).scheme
    if scheme not in _DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has scheme {scheme!r}; supported: postgres://USER:PASSWORD@HOST:PORT/NAME "
            "or sqlite:///PATH."
        )
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} cannot be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database (the path after the host).")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        config["CONN_MAX_AGE"] = 0
    return config


_BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "memory"}


def get_broker_url(name: str) -> str | None:
    value = get(name)
    if value is None:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in _BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has scheme {scheme!r}; expected one of {sorted(_BROKER_SCHEMES)}, "
            "for example redis://127.0.0.1:6379/0."
        )
    return value


def get_cache(name: str) -> dict:
    value = get(name)
    if value is None:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    scheme = urlsplit(value).scheme
    if scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(
            f"{name} has scheme {scheme!r}; expected redis://HOST:PORT/DB or rediss://."
        )
    # Fails open (a Redis outage is a cache miss, rate limits let requests through) and gives
    # up on an unreachable Redis within a second rather than hanging a request.
    return {
        "BACKEND": "loyalty.cache_backends.FailOpenRedisCache",
        "LOCATION": value,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+ssl": "django.core.mail.backends.smtp.EmailBackend",
}


def get_email(name: str) -> dict:
    """Read ``EMAIL_URL`` into Django's EMAIL_* settings.

    ``console://`` (default), ``smtp://user:password@host:587``, ``smtp+tls://...`` (STARTTLS),
    ``smtp+ssl://...`` (implicit TLS); ``?from=noreply@example.com`` sets the sender.
    """
    value = get(name, "console://")
    parts = urlsplit(value)
    backend = _EMAIL_BACKENDS.get(parts.scheme)
    if backend is None:
        raise ImproperlyConfigured(
            f"{name} has scheme {parts.scheme!r}; expected one of {sorted(_EMAIL_BACKENDS)}."
        )
    config: dict = {"EMAIL_BACKEND": backend}
    if parts.scheme.startswith("smtp"):
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name} names no SMTP host.")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port.") from None
        config.update(
            EMAIL_HOST=parts.hostname,
            EMAIL_PORT=port or (465 if parts.scheme == "smtp+ssl" else 587),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_TLS=parts.scheme == "smtp+tls",
            EMAIL_USE_SSL=parts.scheme == "smtp+ssl",
            EMAIL_TIMEOUT=15,
        )
    sender = parse_qs(parts.query).get("from")
    if sender:
        config["DEFAULT_FROM_EMAIL"] = sender[0]
        config["SERVER_EMAIL"] = sender[0]
    return config


_NOT_FOR_PRODUCTION = {"console", "locmem", "dummy"}
EMAIL_URL_EXAMPLE = "smtp+tls://user:password@smtp.example.com:587?from=noreply@example.com"


def require_real_email(name: str) -> None:
    """With DEBUG off: ``name`` must be set to a mail server. The console backend would print
    password-reset links (and so account takeovers) into the server log; locmem and dummy
    drop every mail."""
    value = get(name)
    scheme = urlsplit(value).scheme if value else None
    if scheme is None or scheme in _NOT_FOR_PRODUCTION:
        shown = "unset" if value is None else f"{scheme}://"
        raise ImproperlyConfigured(
            f"{name} is {shown}, which must not be used when DJANGO_DEBUG is off: mail would "
            f"be printed to the log or lost. Set {name} to your mail server, for example "
            f"{name}={EMAIL_URL_EXAMPLE} (schemes: smtp, smtp+tls, smtp+ssl)."
        )
