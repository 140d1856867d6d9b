"""Benchmark: POS purchases (earn) through the real stack.

gunicorn (sync workers) on PostgreSQL with 100,000 members; wrk (a separate process on the
same machine) posts unique purchases over random members for 60 s with 32 connections;
then the same statements run straight against PostgreSQL with pgbench; then a hot-member
run (every request on one member). verify_ledger runs after each load. Figures go to
``bench/reports/pos_earn.md``.

    .venv/bin/python bench/pos_earn/run.py [--members 100000] [--seconds 60] [--workers 4]

Needs PostgreSQL (``BENCH_ADMIN_URL``, default postgres://postgres@127.0.0.1:5432/postgres),
wrk and pgbench (``apt-get install wrk postgresql-client``). It creates and drops its own
database ``loyalty_bench``.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "loyalty_bench"
PORT = 8765


def db_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def sh(args, env=None, **kwargs) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, check=False, **kwargs
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def app_env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url(),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "EMAIL_URL": "smtp://127.0.0.1:9",  # DEBUG off refuses the console; no mail is sent
        "LOG_LEVEL": "WARNING",
        # One key drives the whole load; the per-key limit (1000/min by default) would
        # throttle it, so the bench lifts it.
        "POS_API_THROTTLE_RATE": "10000000/min",
    }


def fresh_database():
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DB_NAME}")
    conn.close()


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def seed_members(count: int, cards_path: Path) -> None:
    """Members and accounts with COPY: seconds for 100,000."""
    conn = psycopg2.connect(db_url())
    rows, cards = [], []
    now = datetime.now(UTC).isoformat()
    for n in range(count):
        body = f"9{n:010d}"
        card = body + luhn_digit(body)
        cards.append(card)
        rows.append(
            "\t".join(
                [
                    card,
                    f"B{n:07d}",
                    f"Bench Member {n}",
                    f"+8490{n:07d}",
                    "active",
                    "",
                    now,
                    "pos",
                    now,
                    "",
                    "",
                    "",
                    "f",
                    "f",
                ]
            )
        )
    data = "\n".join(rows) + "\n"
    import io

    with conn, conn.cursor() as cur:
        cur.copy_expert(
            "COPY members_member (card_number, referral_code, full_name, phone, status, "
            "blocked_reason, joined_at, enrolled_via, updated_at, gender, province, occupation, "
            "email_consent, sms_consent) FROM STDIN",
            io.StringIO(data),
        )
        cur.execute(
            "INSERT INTO members_pointaccount (member_id, available, pending, lifetime_earned, "
            "lifetime_spent, lifetime_expired, updated_at) "
            "SELECT id, 0, 0, 0, 0, 0, now() FROM members_member"
        )
        cur.execute("ANALYZE")
    conn.close()
    cards_path.write_text("\n".join(cards) + "\n")


def start_gunicorn(workers: int, threads: int, env: dict) -> subprocess.Popen:
    # gthread workers keep connections alive (sync workers close each one after a reply).
    proc = subprocess.Popen(
        [
            GUNICORN,
            "loyalty.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("gunicorn did not start")


def wrk(seconds: int, connections: int, key: str, cards: Path) -> dict:
    out = sh(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(HERE / "purchase.lua"),
            f"http://127.0.0.1:{PORT}",
        ],
        env={**os.environ, "BENCH_KEY": key, "BENCH_CARDS": str(cards)},
    )
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    figures = dict(part.split("=") for part in line.split()[1:])
    figures = {k: int(v) for k, v in figures.items()}
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


PGBENCH_SCRIPT = """
\\set mid random({lo}, {hi})
\\set amount random(3, 250)
BEGIN;
SELECT m.id, m.card_number, m.status, mt.tier_id FROM members_member m LEFT JOIN tiers_membertier mt ON mt.member_id = m.id WHERE m.card_number = (SELECT card_number FROM members_member WHERE id = :mid);
WITH p AS (INSERT INTO members_purchase (store_id, member_id, external_id, occurred_at, total_amount, voucher_discount, points_redeemed, points_discount, amount_due, points_earned, items, returned_amount, points_reversed, points_refunded, source, created_at) VALUES ({store}, :mid, 'PG-' || nextval('bench_seq'), now(), :amount * 10000, 0, 0, 0, :amount * 10000, :amount, '[]', 0, 0, 0, 'pos', now()) ON CONFLICT (store_id, external_id) DO NOTHING RETURNING id, external_id), l AS (INSERT INTO members_pointlot (member_id, purchase_id, points, remaining, status, earned_on, matures_on, expires_on, created_at) SELECT :mid, p.id, :amount, :amount, 'pending', current_date, current_date + 7, current_date + 400, now() FROM p RETURNING id, purchase_id), e AS (INSERT INTO members_pointentry (member_id, kind, available_delta, pending_delta, purchase_id, lot_id, reason, actor_label, created_at) SELECT :mid, 'earn', 0, :amount, l.purchase_id, l.id, '', '', now() FROM l), a AS (UPDATE members_pointaccount SET pending = pending + :amount, lifetime_earned = lifetime_earned + :amount, updated_at = now() WHERE member_id = :mid AND EXISTS (SELECT 1 FROM p) RETURNING available, pending), i AS (INSERT INTO pos_idempotencyrecord (store_id, kind, external_id, request_hash, status_code, response, created_at) SELECT {store}, 'transaction', p.external_id, 'x', 201, jsonb_build_object('id', p.id, 'balance', jsonb_build_object('available', a.available, 'pending', a.pending)), now() FROM p, a RETURNING response) SELECT response FROM i;
COMMIT;
"""


def pgbench(seconds: int, connections: int, store_id: int) -> float:
    conn = psycopg2.connect(db_url())
    with conn, conn.cursor() as cur:
        cur.execute("CREATE SEQUENCE IF NOT EXISTS bench_seq")
        cur.execute("SELECT min(id), max(id) FROM members_member")
        lo, hi = cur.fetchone()
    conn.close()
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT.format(lo=lo, hi=hi, store=store_id))
    out = sh(
        [
            "pgbench",
            "-n",
            "-c",
            str(connections),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            script.name,
            db_url(),
        ],
    )
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def verify(env: dict) -> str:
    result = subprocess.run(
        [PY, "manage.py", "verify_ledger"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return "clean" if result.returncode == 0 else "FAILED: " + result.stderr.strip()[-500:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install wrk postgresql-client")

    env = app_env()
    print(f"fresh database {DB_NAME}, migrate, {args.members} members", flush=True)
    fresh_database()
    sh([PY, "manage.py", "migrate", "--noinput", "-v0"], env=env)
    tmp = Path(tempfile.mkdtemp(prefix="pos_earn_"))
    cards = tmp / "cards.txt"
    started = time.monotonic()
    seed_members(args.members, cards)
    seeded = time.monotonic() - started
    sh([PY, "manage.py", "create_store", "BENCH", "--name", "Bench store"], env=env)
    key = sh([PY, "manage.py", "create_api_key", "BENCH"], env=env).strip().splitlines()[-1]

    server = start_gunicorn(args.workers, args.threads, env)
    try:
        print("warm-up 5 s", flush=True)
        wrk(5, args.connections, key, cards)
        print(f"load: {args.connections} connections, {args.seconds} s", flush=True)
        main_run = wrk(args.seconds, args.connections, key, cards)
        ledger_after_main = verify(env)
        hot = tmp / "hot.txt"
        hot.write_text(cards.read_text().splitlines()[0] + "\n")
        print("hot member: 15 s", flush=True)
        hot_run = wrk(15, args.connections, key, hot)
        ledger_after_hot = verify(env)
    finally:
        server.terminate()
        server.wait(timeout=30)

    conn = psycopg2.connect(db_url())
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM members_store WHERE code = 'BENCH'")
        store_id = cur.fetchone()[0]
    conn.close()
    print("pgbench: the same statements straight against PostgreSQL", flush=True)
    tps = pgbench(min(args.seconds, 30), args.connections, store_id)
    ledger_after_pgbench = verify(env)

    ratio = main_run["rps"] / tps
    report = f"""# POS purchase (earn) benchmark

Command: `.venv/bin/python bench/pos_earn/run.py --members {args.members} --seconds {args.seconds} --connections {args.connections} --workers {args.workers} --threads {args.threads}`
Machine: {os.cpu_count()} cores; PostgreSQL local; wrk and gunicorn on the same machine.
Measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Members seeded with COPY in {seeded:.1f} s.

| run | requests | purchases/s | p50 | p99 | errors (non-2xx / socket) | verify_ledger |
|---|---|---|---|---|---|---|
| {args.members:,} members, random member, {args.connections} connections, {args.seconds} s | {main_run["requests"]:,} | {main_run["rps"]:.0f} | {main_run["p50_us"] / 1000:.1f} ms | {main_run["p99_us"] / 1000:.1f} ms | {main_run["errors_status"]} / {main_run["errors_socket"]} | {ledger_after_main} |
| hot member (every request on one member), 15 s | {hot_run["requests"]:,} | {hot_run["rps"]:.0f} | {hot_run["p50_us"] / 1000:.1f} ms | {hot_run["p99_us"] / 1000:.1f} ms | {hot_run["errors_status"]} / {hot_run["errors_socket"]} | {ledger_after_hot} |

pgbench running the API's statements for an earn-only purchase (the member-and-tier read and the one write statement of `pos/services/purchases_sql.py`) directly, on the same tables ({args.connections} clients, {min(args.seconds, 30)} s): **{tps:.0f} TPS**; ledger after it: {ledger_after_pgbench}.

Ratio API / database alone: **{ratio:.2f}**.

Targets: at least 400 purchases/s, p99 under 100 ms, zero errors, verify_ledger clean.
"""
    out = ROOT / "bench" / "reports" / "pos_earn.md"
    out.write_text(report)
    print(report)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
