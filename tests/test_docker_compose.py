"""docker-compose.yml and the Dockerfile name things that exist.

Docker does not run in CI, so these tests read the files instead: every module, attribute and
management command a container command names must be importable here, and no secret may be
written into the compose file.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SERVICES = ("postgres", "redis", "web", "worker", "beat")
APP_SERVICES = ("web", "worker", "beat")
SECRETISH = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|(^|_)KEY($|_)|CREDENTIAL", re.IGNORECASE)
# A whole value that is one required variable: ${NAME:?message} or ${NAME?message}.
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[?-][^}]*)?\}$")
URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<password>.+)@[^@]+$", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def _command(service: dict) -> list[str]:
    """The command as argv words; ``sh -c "..."`` is split further into its script's words."""
    command = service.get("command")
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command or []]
    if len(words) >= 3 and words[0] in {"sh", "bash", "/bin/sh", "/bin/bash"} and words[1] == "-c":
        words = [*words[:2], *shlex.split(words[2])]
    return words


def _after(words: list[str], program: str) -> list[list[str]]:
    """The argument lists of every invocation of ``program`` (up to the next ``&&``/``;``)."""
    invocations, current = [], None
    for word in words:
        if word in {"&&", "||", ";", "|"}:
            current = None
        elif current is not None:
            current.append(word)
        elif Path(word).name == program:
            current = []
            invocations.append(current)
    return invocations


def _gunicorn_targets(args: list[str]) -> list[str]:
    """The ``module:attribute`` words of a gunicorn invocation (not option values)."""
    with_value = {"-b", "--bind", "-w", "--workers", "-c", "--config", "-k", "--worker-class"}
    targets, skip = [], False
    for word in args:
        if skip:
            skip = False
        elif word in with_value:
            skip = True
        elif not word.startswith("-") and re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", word):
            targets.append(word)
    return targets


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def test_all_services_are_defined(compose):
    assert set(SERVICES) <= set(compose["services"]), sorted(compose["services"])


def test_images_and_build(compose):
    services = compose["services"]
    assert str(services["postgres"]["image"]).startswith("postgres:15")
    assert str(services["redis"]["image"]).startswith("redis:7")
    for name in APP_SERVICES:
        build = services[name].get("build")
        assert build, f"{name} does not build the project image"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


def test_postgres_keeps_data_in_a_named_volume(compose):
    volumes = compose["services"]["postgres"].get("volumes") or []
    named = [str(v).split(":", 1)[0] for v in volumes if not str(v).startswith((".", "/"))]
    assert named, "postgres has no named volume"
    assert set(named) <= set(compose.get("volumes") or {}), named


# Explicit ids: a parameter id "postgres" would count as the ``postgres`` marker's keyword in
# tests/conftest.py and get the test skipped on SQLite.
@pytest.mark.parametrize("name", ["postgres", "redis"], ids=["db-service", "broker-service"])
def test_backing_services_have_healthchecks(compose, name):
    assert compose["services"][name].get("healthcheck", {}).get("test")


@pytest.mark.parametrize("name", APP_SERVICES, ids=[f"{n}-service" for n in APP_SERVICES])
def test_app_services_wait_for_healthy_backing_services(compose, name):
    depends_on = compose["services"][name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
    for backing in ("postgres", "redis"):
        assert depends_on.get(backing, {}).get("condition") == "service_healthy", (name, backing)
    for dependency, spec in depends_on.items():
        if spec.get("condition") == "service_healthy":
            healthcheck = compose["services"][dependency].get("healthcheck")
            assert healthcheck and healthcheck.get("test"), f"{dependency} has no healthcheck"


@pytest.mark.parametrize("name", APP_SERVICES, ids=[f"{n}-service" for n in APP_SERVICES])
def test_app_services_have_a_command(compose, name):
    assert _command(compose["services"][name]), f"{name} has no command"


def test_web_migrates_then_serves_the_wsgi_app(compose):
    words = _command(compose["services"]["web"])
    manage = _after(words, "manage.py")
    assert manage and manage[0][:1] == ["migrate"], words
    gunicorn = _after(words, "gunicorn")
    assert len(gunicorn) == 1, words
    assert _gunicorn_targets(gunicorn[0]) == ["loyalty.wsgi:application"], gunicorn[0]
    assert "0.0.0.0:8000" in gunicorn[0]
    assert words.index("gunicorn") > words.index("manage.py"), "gunicorn must start after migrate"


def test_gunicorn_targets_exist(compose):
    for name in APP_SERVICES:
        for args in _after(_command(compose["services"][name]), "gunicorn"):
            targets = _gunicorn_targets(args)
            assert targets, f"{name}: gunicorn without an application"
            for target in targets:
                module_name, attribute = target.split(":", 1)
                module = importlib.import_module(module_name)
                application = getattr(module, attribute, None)
                assert callable(application), f"{target} is not a WSGI callable"


def test_manage_py_commands_exist(compose):
    commands = get_commands()
    seen = []
    for name in APP_SERVICES:
        for args in _after(_command(compose["services"][name]), "manage.py"):
            assert args, f"{name}: manage.py without a command"
            assert args[0] in commands, f"{name}: no management command {args[0]!r}"
            seen.append(args[0])
    assert "migrate" in seen


@pytest.mark.parametrize(
    ("name", "subcommand"), [("worker", "worker"), ("beat", "beat")], ids=["celery-worker", "beat"]
)
def test_celery_services_name_the_celery_app(compose, name, subcommand):
    words = _command(compose["services"][name])
    invocations = _after(words, "celery")
    assert len(invocations) == 1, words
    args = invocations[0]
    app_option = next(
        (args[i + 1] for i, w in enumerate(args[:-1]) if w in {"-A", "--app"}),
        next((w.split("=", 1)[1] for w in args if w.startswith("--app=")), None),
    )
    assert app_option, f"{name}: celery without -A"
    assert subcommand in args, args
    module_name, _, attribute = app_option.partition(":")
    # ``celery -A loyalty`` looks for ``loyalty.celery:app`` (or an ``app`` in the package).
    try:
        module = importlib.import_module(f"{module_name}.celery")
    except ModuleNotFoundError:
        module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app", None)
    assert isinstance(app, Celery), f"{app_option} does not resolve to a Celery app"
    assert app.main == module_name.split(".")[0]


def test_no_secret_values_in_compose(compose):
    problems = []
    blocks = [("x-" + k, v) for k, v in compose.items() if k.startswith("x-")]
    blocks += list(compose["services"].items())
    for name, service in blocks:
        if not isinstance(service, dict):
            continue
        env = _environment(service) if "environment" in service else {}
        if name.startswith("x-") and "environment" not in service:
            env = {k: str(v) for k, v in service.items() if not isinstance(v, dict | list)}
        for key, value in env.items():
            if SECRETISH.search(key) and not REQUIRED_REFERENCE.match(value):
                problems.append(f"{name}.{key} must be ${{{key}:?...}}, not {value!r}")
            url = URL_PASSWORD.match(value)
            if url and not REFERENCE.match(url["password"]):
                problems.append(f"{name}.{key} has a literal password in its URL")
    assert not problems, problems


def test_secret_key_and_database_password_come_from_the_environment(compose):
    env = _environment(compose["services"]["web"])
    assert REQUIRED_REFERENCE.match(env["DJANGO_SECRET_KEY"]), env["DJANGO_SECRET_KEY"]
    assert env["DJANGO_DEBUG"] in {"0", "false", "False", "no", "off"}
    for name in APP_SERVICES:
        service_env = _environment(compose["services"][name])
        for variable in ("DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"):
            assert variable in service_env, f"{name} lacks {variable}"
        assert service_env["DATABASE_URL"].startswith("postgres://")
        assert "@postgres:" in service_env["DATABASE_URL"]
        assert service_env["CELERY_BROKER_URL"].startswith("redis://redis:")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text()
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_builds_the_project():
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"
    instructions = _dockerfile_instructions()
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert froms and froms[0].startswith("python:3.11-slim"), froms
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "pip install" in runs
    assert "collectstatic" in runs
    assert "manage.py collectstatic" in runs


def test_dockerfile_copies_files_that_exist():
    instructions = _dockerfile_instructions()
    copies = [rest for keyword, rest in instructions if keyword == "COPY"]
    assert copies
    for rest in copies:
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
    text = DOCKERFILE.read_text()
    for referenced in ("pyproject.toml", "manage.py"):
        assert referenced in text, f"the Dockerfile does not use {referenced}"
        assert (ROOT / referenced).is_file(), f"{referenced} is missing"
    # The whole project must reach the image: the context is not narrowed to miss code.
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("pyproject.toml", "manage.py", "loyalty", "templates", "static"):
        assert needed not in ignored, f".dockerignore drops {needed}"
    assert ".venv" in ignored and ".git" in ignored
