"""The fault tests' own services and processes: a PostgreSQL cluster and a Redis started for
the run (never the machine's shared ones), and the platform's processes against them with
production-like settings (gunicorn, celery workers, management commands).

Every process is a child of the test run and is stopped in the fixtures' ``finally``; the
cluster's directory is removed at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUEUE = "faults"
# Variables of the project's settings that must not leak in from the shell running the tests.
PROJECT_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "EMAIL_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_SETTINGS_MODULE",
    "LOYALTY_VAR_DIR",
    "PYTEST_ADDOPTS",
    "CAMPAIGNS_QUEUE",
    "SMS_BACKEND",
)


# Set by .ci/faults: everything of the run lives under it, and every child's pid is noted in
# it, so the driver can clean up even after pytest itself was killed.
RUN_DIR = os.environ.get("FAULTS_RUN_DIR") or None


def note_pid(pid: int) -> None:
    if RUN_DIR:
        with open(Path(RUN_DIR) / "pids", "a") as pids:
            pids.write(f"{pid}\n")


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=RUN_DIR))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, seconds: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(every)


def say(text: str) -> None:
    """A progress line on the driver's output (pytest -s)."""
    print(f"[faults {time.strftime('%H:%M:%S')}] {text}", flush=True)


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if not versions:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return versions[-1].parent


class PgCluster:
    """A throw-away cluster in a temporary directory, on a port of its own. initdb refuses
    to run as root: as root (CI), it runs as the ``postgres`` OS user."""

    def __init__(self):
        self.bin = _pg_bin()
        self.dir = temp_dir("pg-")
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [*args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(
            command, check=True, timeout=timeout, stdout=subprocess.DEVNULL, cwd=self.dir
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        )

    def _ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            *args,
        )

    def start(self) -> None:
        self._ctl("-w", "-t", "60", "start")

    def stop(self) -> None:
        self._ctl("-w", "-t", "60", "-m", "fast", "stop")

    def restart(self) -> None:
        self._ctl("-w", "-t", "60", "-m", "fast", "restart")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> None:
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._ctl("-w", "-t", "30", "-m", "immediate", "stop")
        except Exception as exc:  # the directory goes anyway
            say(f"stopping the cluster failed: {exc}")
        shutil.rmtree(self.dir, ignore_errors=True)


class Database:
    """Reads (and the odd direct write) for the tests' assertions, with psycopg2."""

    def __init__(self, cluster: PgCluster, name: str):
        self.dsn = {"host": "127.0.0.1", "port": cluster.port, "user": "postgres", "dbname": name}

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        connection = psycopg2.connect(connect_timeout=5, **self.dsn)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def value(self, sql: str, params: tuple = ()):
        return self.rows(sql, params)[0][0]

    def sends(self, campaign: int, *, status: str | None = None, attempts: int | None = None):
        """How many sends the campaign has (in ``status``, after ``attempts``)."""
        return self.value(
            "SELECT count(*) FROM campaigns_send WHERE campaign_id = %s"
            " AND (%s IS NULL OR status = %s) AND (%s IS NULL OR attempts = %s)",
            (campaign, status, status, attempts, attempts),
        )

    def notifications(self, campaign: int) -> int:
        return self.value(
            "SELECT count(*) FROM campaigns_notification n"
            " JOIN campaigns_send s ON s.id = n.send_id WHERE s.campaign_id = %s",
            (campaign,),
        )

    def active_members(self) -> int:
        return self.value("SELECT count(*) FROM members_member WHERE status = 'active'")


# ---------------------------------------------------------------------------------------------
# Redis


class RedisServer:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        note_pid(self.proc.pid)
        wait_until(self.up, 20, "redis to answer")

    def up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


# ---------------------------------------------------------------------------------------------
# The platform's processes


class Stack:
    """The environment every process of the platform gets, and ways to start them."""

    def __init__(self, cluster: PgCluster, redis: RedisServer, workdir: Path):
        self.cluster, self.redis, self.workdir = cluster, redis, workdir
        self.db = Database(cluster, "loyalty_faults")
        self.sms_record = workdir / "sms-calls.txt"
        env = {k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES}
        env.update(
            DATABASE_URL=cluster.url("loyalty_faults"),
            CACHE_URL=redis.url(0),
            CELERY_BROKER_URL=redis.url(1),
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="faults-" + secrets.token_urlsafe(48),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_HSTS_SECONDS="0",
            EMAIL_URL="smtp://127.0.0.1:9",  # nothing listens: no mail leaves
            HEALTH_NIGHTLY_CHECK="0",
            LOG_FORMAT="plain",
            CAMPAIGNS_QUEUE=QUEUE,
            CAMPAIGNS_CLAIM_TIMEOUT="5",  # lost work goes back to the tick after 5 s
            CAMPAIGNS_SMS_QUIET_HOURS="00:00-00:00",  # whatever the hour the test runs at
            SMS_BACKEND="tests.faults.fake_sms.SlowRecordingSms",
            FAULTS_SMS_RECORD=str(self.sms_record),
            FAULTS_SMS_DELAY="0.03",
            SINGLE_RUN_LEASE_SECONDS="30",
            PROMETHEUS_MULTIPROC_DIR=str(workdir / "prometheus"),
            PYTHONUNBUFFERED="1",
        )
        (workdir / "prometheus").mkdir(exist_ok=True)
        self.env = env
        self.children: list[subprocess.Popen] = []

    def manage(self, *args: str, timeout: float = 120, check: bool = True, **extra_env):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"manage.py {args[0]} exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return done

    def shell(self, code: str, timeout: float = 120) -> dict:
        """Run ``code`` in ``manage.py shell``; it prints one JSON object last."""
        done = self.manage("shell", "--verbosity", "0", "-c", code, timeout=timeout)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def spawn(self, args: list[str], log_name: str, **extra_env) -> subprocess.Popen:
        log = open(self.workdir / log_name, "ab")  # noqa: SIM115 - the child writes it
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        note_pid(proc.pid)
        self.children.append(proc)
        return proc

    def log_text(self, log_name: str) -> str:
        path = self.workdir / log_name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.children:
            stop(proc)


def stop(proc: subprocess.Popen, *, kill: bool = False) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


class WebServer:
    """gunicorn as deployed (gunicorn.conf.py), two workers with threads."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = stack.spawn(
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "loyalty.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            "gunicorn.log",
        )
        wait_until(lambda: self.request("GET", "/health/")[0] == 200, 60, "gunicorn to serve")

    def request(self, method: str, path: str, body: dict | None = None, headers=None):
        """(status, headers, parsed JSON or text); status 0 when no answer came."""
        data = json.dumps(body).encode() if body is not None else None
        url = self.base + path  # http://127.0.0.1:<port>: the test's own server
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Host", "127.0.0.1")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310  # the test's own server
                return response.status, dict(response.headers), _parse(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), _parse(error.read())
        except (urllib.error.URLError, OSError) as error:
            return 0, {}, str(error)


def _parse(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class Worker:
    """A celery worker (solo pool: the task runs in this very process) on the faults queue."""

    def __init__(self, stack: Stack, name: str):
        self.name = name
        self.proc = stack.spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "loyalty",
                "worker",
                "--pool=solo",
                "-Q",
                QUEUE,
                "-n",
                f"{name}@faults",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=info",
            ],
            f"worker-{name}.log",
            PROMETHEUS_MULTIPROC_DIR=str(stack.workdir / f"prometheus-{name}"),
        )
        (stack.workdir / f"prometheus-{name}").mkdir(exist_ok=True)
        self.stack = stack
        wait_until(lambda: "ready." in stack.log_text(f"worker-{name}.log"), 60, f"{name} ready")

    def kill(self) -> None:
        """SIGKILL, like the OOM killer: the task in hand is never acknowledged."""
        stop(self.proc, kill=True)

    def stop(self) -> None:
        stop(self.proc)


def send_task(stack: Stack, name: str, **kwargs) -> None:
    """What beat does: publish ``name`` to the queue (no result is waited for)."""
    from celery import Celery

    client = Celery("faults-client", broker=stack.redis.url(1))
    client.conf.update(task_serializer="json", accept_content=["json"])
    try:
        client.send_task(name, kwargs=kwargs, queue=QUEUE)
    finally:
        client.close()


def purge_queue(stack: Stack) -> None:
    """The broker loses what was queued (a Redis restart without persistence)."""
    from celery import Celery

    client = Celery("faults-client", broker=stack.redis.url(1))
    try:
        with client.connection_for_write() as connection:
            connection.default_channel.queue_purge(QUEUE)
    finally:
        client.close()
