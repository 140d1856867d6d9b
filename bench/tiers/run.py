"""Benchmark: the nightly tier recalculation over 1,000,000 members and 20,000,000 purchases.

Creates its own database ``loyalty_bench_tiers`` (dropped first if it exists, and at the end
unless ``--keep``) on the server of ``BENCH_ADMIN_URL`` (default
postgres://postgres@127.0.0.1:5432/postgres), migrates it, and loads it with ``COPY``:
stores, members, their current tiers (a made-up past: every member holds one, about half of
them due for review) and ``--purchases`` purchases over the 18 months up to the bench day,
in time order as the tills write them. Each table's secondary indexes and unique constraints
are dropped before its ``COPY`` and built again after it; then VACUUM ANALYZE. PostgreSQL
generates the rows itself: ``COPY ... FROM PROGRAM`` runs ``psql`` on the database server,
which streams ``COPY (SELECT ... generate_series ...) TO STDOUT`` in binary, so generating
and loading run side by side on the two cores and no row passes through Python.

Then, in this process (DEBUG off, as in production):

1. ``tiers.services.tiers_recalculate(today=...)``: wall time, rows changed (the counts it
   returns), peak RSS (``ru_maxrss`` before/after) and the ``tracemalloc`` peak;
2. the same again, the same day: it must change nothing;
3. the same computation as one hand-written statement, ``UPDATE ... FROM (SELECT ... GROUP
   BY member_id)`` with the rules of ``tiers_recalculate`` (qualified tier from the
   thresholds, retention, policy ``one_level``, staff locks; no history rows), from the same
   starting state, then again; its tiers are compared with the job's, row by row;
4. the same statement writing the history rows too (a data-modifying CTE), compared again;
5. the aggregate alone as a ``SELECT`` (PostgreSQL may use parallel workers for it).

Every variant starts from the same state: the member tiers are restored from a copy saved
after loading and the tier history emptied, then VACUUM and CHECKPOINT. The statements run
with the ``work_mem`` the job sets for itself. Figures go to ``bench/reports/tiers.md``.

    .venv/bin/python bench/tiers/run.py [--members 1000000] [--purchases 20000000] [--keep]
    .venv/bin/python bench/tiers/run.py --skip-load   # time again on the kept database

Needs a local PostgreSQL whose server can run ``psql`` (``COPY FROM PROGRAM``: a superuser
or ``pg_execute_server_program``; ``apt-get install postgresql-client``), and about 6 GB of
disk per 20 M purchases.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import resource
import secrets
import shlex
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python")
REPORT = ROOT / "bench" / "reports" / "tiers.md"
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_TIERS_DB", "loyalty_bench_tiers")
TODAY = date(2026, 11, 23)  # the bench day: purchases end on it, the job runs for it
STORES = 50
SEED = 0.2026  # setseed() of the session that generates the rows
LAPSED = 0.2  # share of members who bought only before the window (older than 12 months)
TIER_MIX = {"bronze": 0.55, "silver": 0.25, "gold": 0.13, "diamond": 0.07}  # before the run
LOCKED = 0.01  # share of members whose tier staff locked (until a day after the bench day)


def db_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def connect(url: str | None = None):
    conn = psycopg2.connect(url or db_url())
    conn.autocommit = True
    return conn


def rss_now_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def mb(kb: float) -> str:
    return f"{kb / 1024:,.0f} MB"


class Phases:
    """Wall time of named steps, printed as they end."""

    def __init__(self):
        self.items: list[tuple[str, float]] = []

    def run(self, name: str, func, *args):
        started = time.perf_counter()
        result = func(*args)
        seconds = time.perf_counter() - started
        self.items.append((name, seconds))
        print(f"  {name}: {seconds:.1f} s", flush=True)
        return result


# ------------------------------------------------------------------------------ loading


def fresh_database() -> None:
    conn = connect(ADMIN_URL)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DB_NAME}")
    conn.close()


def drop_database() -> None:
    conn = connect(ADMIN_URL)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    conn.close()


def app_env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url(),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "EMAIL_URL": "smtp://127.0.0.1:9",  # DEBUG off refuses the console; no mail is sent
        "LOG_LEVEL": "WARNING",
    }


def migrate() -> None:
    # In its own process: this one's peak RSS is the recalculation's, not the migrations'.
    done = subprocess.run(
        [PY, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=app_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def secondary_indexes(cur, table: str) -> list[tuple[str, str, str]]:
    """(kind, name, definition) of the unique constraints and indexes of ``table`` other
    than its primary key: what the migrations created, to drop before COPY and build after."""
    cur.execute(
        """
        SELECT 'constraint', c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid = %s::regclass AND c.contype = 'u'
        UNION ALL
        SELECT 'index', i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY 1, 2
        """,
        [table, table],
    )
    return cur.fetchall()


def drop_indexes(cur, table: str, indexes) -> None:
    for kind, name, _definition in indexes:
        if kind == "constraint":
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        else:
            cur.execute(f'DROP INDEX "{name}"')


def build_indexes(cur, table: str, indexes) -> None:
    for kind, name, definition in indexes:
        if kind == "constraint":
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        else:
            cur.execute(definition)


def copy_generated(cur, table: str, columns: list[str], select: str, constants: dict) -> int:
    """``COPY table FROM PROGRAM``: psql, run by the server, streams ``select`` in binary.
    The table was emptied in this transaction, so the rows are written frozen. Columns that
    are the same on every row (``constants``: column -> SQL) are column defaults while
    loading (the migrations set none), not sent."""
    view = f"bench_gen_{table}"
    cur.execute(f"CREATE VIEW {view} AS {select}")
    cur.connection.commit()  # psql reads the view in a session of its own
    inner = f"COPY (SELECT {', '.join(columns)} FROM {view}) TO STDOUT (FORMAT binary)"
    # Seeded, so every load generates the same rows (the SELECT's output is discarded).
    program = " ".join(
        [
            f"psql {shlex.quote(db_url())} -X -q -v ON_ERROR_STOP=1",
            f"-c '\\o /dev/null' -c 'SELECT setseed({SEED})' -c '\\o'",
            f"-c {shlex.quote(inner)}",
        ]
    )
    # Emptied in this transaction: COPY writes the rows frozen (no hint bits to set later).
    cur.execute(f"TRUNCATE {table} CASCADE")
    for column, value in constants.items():
        cur.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {value}")
    cur.execute(
        f"COPY {table} ({', '.join(columns)}) FROM PROGRAM %s WITH (FORMAT binary, FREEZE)",
        [program],
    )
    rows = cur.rowcount
    for column in constants:
        cur.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
    cur.execute(f"DROP VIEW {view}")
    cur.connection.commit()
    return rows


def luhn_sql(body: str) -> str:
    """SQL for the Luhn check digit of the 11-digit text expression ``body``."""
    terms = []
    for j in range(11):  # j: position from the right, doubled at even positions
        digit = f"substr({body}, {11 - j}, 1)::int"
        terms.append(f"(({digit} * 2) % 10 + ({digit} * 2) / 10)" if j % 2 == 0 else digit)
    return f"((10 - ({' + '.join(terms)}) % 10) % 10)"


def coprime_step(n: int) -> int:
    step = 7919
    while math.gcd(step, n) != 1:
        step += 2
    return step


def members_select(members: int) -> tuple[list[str], str]:
    body = "('9' || lpad(g::text, 10, '0'))"
    columns = ["id", "card_number", "referral_code", "full_name", "phone", "joined_at"]
    select = f"""
        SELECT g::bigint AS id,
               ({body} || {luhn_sql(body)})::varchar(12) AS card_number,
               ('B' || lpad(g::text, 9, '0'))::varchar(12) AS referral_code,
               ('Bench Member ' || g)::varchar(150) AS full_name,
               ('+849' || lpad(g::text, 8, '0'))::varchar(16) AS phone,
               TIMESTAMPTZ '{TODAY - timedelta(days=900)} 09:00+07'
                   + (g * INTERVAL '60 seconds') AS joined_at
        FROM generate_series(1, {members}) AS g
    """
    constants = {
        "gender": "''",
        "province": "''",
        "occupation": "''",
        "email_consent": "false",
        "sms_consent": "false",
        "status": "'active'",
        "blocked_reason": "''",
        "enrolled_via": "'pos'",
        "updated_at": f"TIMESTAMPTZ '{TODAY} 00:00+07'",
    }
    return columns, select, constants


def member_tiers_select(members: int) -> tuple[list[str], str]:
    """Every member holds a tier, drawn from ``TIER_MIX`` whatever they spend, reached on a
    day of the last two years (so about half of them are past the retention and due for
    review); ``LOCKED`` of them locked by staff until after the bench day."""
    cuts, acc = [], 0.0
    for code, share in TIER_MIX.items():
        acc += share
        cuts.append((code, acc))
    tier_case = " ".join(
        f"WHEN u < {cut} THEN (SELECT id FROM tiers_tier WHERE code = '{code}')"
        for code, cut in cuts[:-1]
    )
    last = cuts[-1][0]
    columns = ["member_id", "tier_id", "since", "retained_until", "locked_until", "updated_at"]
    select = f"""
        SELECT member_id, tier_id, since,
               (date_trunc('month', since) + INTERVAL '13 months' - INTERVAL '1 day')::date
                   AS retained_until,
               CASE WHEN v < {LOCKED} THEN DATE '{TODAY}' + 1 + (member_id % 60)::int END
                   AS locked_until,
               TIMESTAMPTZ '{TODAY - timedelta(days=1)} 01:00+07' AS updated_at
        FROM (
            SELECT g::bigint AS member_id,
                   CASE {tier_case}
                        ELSE (SELECT id FROM tiers_tier WHERE code = '{last}') END AS tier_id,
                   DATE '{TODAY}' - (hashint8(g * 7 + 1) & 1048575) % 730 AS since,
                   v
            FROM generate_series(1, {members}) AS g,
                 LATERAL (SELECT (hashint8(g * 7 + 2) & 1048575) / 1048576.0 AS u,
                                 (hashint8(g * 7 + 3) & 1048575) / 1048576.0 AS v) AS h
        ) AS s
    """
    return columns, select, {}


def purchases_select(members: int, purchases: int) -> tuple[list[str], str]:
    """``purchases`` rows in time order over the 548 days (18 months) up to the bench day.

    Member choice is skewed (``floor(n * u^2)``: a few members buy very often, most now and
    then) and permuted over the ids; ``LAPSED`` of the members buy only in the oldest third
    (before the 12-month window). Each member has a typical basket (log-normal over members,
    median about 490,000 VND), each purchase varies around it; 1.5% are returned in full and
    2.5% in part. Under the default thresholds about 57% qualify for Bronze, 31% Silver, 9%
    Gold and 2-3% Diamond."""
    active = int(members * (1 - LAPSED))
    step = coprime_step(members)
    span = 548 * 86400
    first = f"TIMESTAMPTZ '{TODAY - timedelta(days=548)} 08:00+07'"
    columns = [
        "id",
        "external_id",
        "occurred_at",
        "total_amount",
        "amount_due",
        "created_at",
        "member_id",
        "store_id",
        "points_earned",
        "returned_amount",
    ]
    constants = {
        "items": "'[]'::jsonb",
        "points_discount": "0",
        "points_redeemed": "0",
        "points_refunded": "0",
        "points_reversed": "0",
        "source": "'pos'",
        "voucher_discount": "0",
    }
    select = f"""
        SELECT i AS id, ('B' || i)::varchar(64) AS external_id, at AS occurred_at,
               amount AS total_amount, amount AS amount_due,
               at + INTERVAL '90 seconds' AS created_at,
               idx + 1 AS member_id, idx % {STORES} + 1 AS store_id,
               floor(amount / 10000)::bigint AS points_earned,
               (CASE WHEN r < 0.015 THEN amount
                     WHEN r < 0.04 THEN round(amount * r2 / 1000) * 1000
                     ELSE 0 END)::numeric(16, 2) AS returned_amount
        FROM (
            SELECT i, at, idx, r, r2,
                   greatest(10000, round(exp(
                       13.1 + 2.2 * (((h & 1023) + ((h >> 10) & 1023) + ((h >> 20) & 1023))
                                     / 1024.0 - 1.5)
                       + (random() + random() + random() - 1.5) - 0.125
                   ) / 1000) * 1000)::numeric(16, 2) AS amount
            FROM (
                SELECT i, at, idx, hashint8(idx) AS h, random() AS r, random() AS r2
                FROM (
                    SELECT i, {first} + (i - 1 + random()) * INTERVAL '{span / purchases} seconds'
                               AS at,
                           (floor(CASE WHEN i * 3 <= {purchases} THEN {members} ELSE {active} END
                                  * power(random(), 2))::bigint * {step}) % {members} AS idx
                    FROM generate_series(1, {purchases}::bigint) AS i
                ) AS a
            ) AS b
        ) AS c
    """
    return columns, select, constants


def load(members: int, purchases: int) -> dict:
    phases = Phases()
    conn = psycopg2.connect(db_url())
    cur = conn.cursor()
    cur.execute("SET maintenance_work_mem = '1GB'")
    # Foreign keys are not checked row by row while loading (their triggers do not fire in
    # replica mode): the generated rows point at members and stores that exist.
    cur.execute("SET session_replication_role = replica")
    cur.execute(
        "INSERT INTO members_store (id, code, name, address, province, is_active, created_at) "
        "SELECT g, 'BENCH' || lpad(g::text, 2, '0'), 'Bench store ' || g, '', '', true, now() "
        f"FROM generate_series(1, {STORES}) AS g"
    )
    conn.commit()
    figures = {}
    for table, (columns, select, constants) in (
        ("members_member", members_select(members)),
        ("tiers_membertier", member_tiers_select(members)),
        ("members_purchase", purchases_select(members, purchases)),
    ):
        indexes = secondary_indexes(cur, table)
        drop_indexes(cur, table, indexes)
        conn.commit()
        figures[table] = phases.run(
            f"COPY {table}", copy_generated, cur, table, columns, select, constants
        )
        phases.run(f"indexes of {table} ({len(indexes)})", build_indexes, cur, table, indexes)
        conn.commit()
    for table in ("members_store", "members_member", "members_purchase"):
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    # The starting state every variant is reset to.
    cur.execute("CREATE TABLE bench_tiers_start AS TABLE tiers_membertier")
    conn.commit()
    conn.autocommit = True
    phases.run("VACUUM ANALYZE", cur.execute, "VACUUM ANALYZE")
    cur.execute("SELECT pg_total_relation_size('members_purchase')")
    figures["purchase_bytes"] = cur.fetchone()[0]
    conn.close()
    figures["phases"] = phases.items
    figures["seconds"] = sum(seconds for _name, seconds in phases.items)
    return figures


def save_meta(figures: dict, members: int, purchases: int) -> None:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_tiers_meta")
        cur.execute("CREATE TABLE bench_tiers_meta (data jsonb NOT NULL)")
        meta = {"today": TODAY.isoformat(), "members": members, "purchases": purchases}
        cur.execute("INSERT INTO bench_tiers_meta VALUES (%s)", [json.dumps(meta | figures)])
    conn.close()


def read_meta() -> dict:
    try:
        conn = connect()
    except psycopg2.OperationalError:
        sys.exit(f"--skip-load: no database {DB_NAME}; run once with --keep first.")
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('bench_tiers_meta'), to_regclass('bench_tiers_start')")
        if None in cur.fetchone():
            sys.exit(f"--skip-load: {DB_NAME} was not loaded to the end; load it again.")
        cur.execute("SELECT data FROM bench_tiers_meta")
        meta = cur.fetchone()[0]
    conn.close()
    return meta


# ------------------------------------------------------------------------------- timing

MEMBER_TIER_COLUMNS = "member_id, tier_id, since, retained_until, locked_until, updated_at"


def reset(conn) -> None:
    """The starting state: member tiers as loaded, no tier history; vacuumed, checkpointed."""
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("TRUNCATE tiers_tierchange, tiers_membertier")
        cur.execute(
            f"INSERT INTO tiers_membertier ({MEMBER_TIER_COLUMNS}) "
            f"SELECT {MEMBER_TIER_COLUMNS} FROM bench_tiers_start"
        )
        cur.execute("COMMIT")
        cur.execute("VACUUM (FREEZE, ANALYZE) tiers_membertier, tiers_tierchange")
        cur.execute("CHECKPOINT")


def tier_mix(conn) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT t.code, count(mt.member_id) FROM tiers_tier t "
            "LEFT JOIN tiers_membertier mt ON mt.tier_id = t.id GROUP BY t.code, t.rank "
            "ORDER BY t.rank"
        )
        return dict(cur.fetchall())


def save_result(conn, name: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TABLE {name} AS SELECT {MEMBER_TIER_COLUMNS} FROM tiers_membertier")


def differences(conn, saved: str) -> int:
    """Members whose tier row (tier, since, kept until, locked until) differs from ``saved``."""
    with conn.cursor() as cur:
        cur.execute(
            f"""
            SELECT count(*) FROM {saved} s FULL JOIN tiers_membertier mt USING (member_id)
            WHERE (s.tier_id, s.since, s.retained_until, s.locked_until)
                  IS DISTINCT FROM (mt.tier_id, mt.since, mt.retained_until, mt.locked_until)
            """
        )
        return cur.fetchone()[0]


class PhaseLog(logging.Handler):
    """Collects the service's log lines (its phases) during a run."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def time_job(today: date) -> dict:
    """``tiers_recalculate`` in this process: wall time, counts, memory."""
    from django.db import connection

    from tiers.services import tiers_recalculate

    log = PhaseLog()
    logger = logging.getLogger("tiers")
    logger.addHandler(log)
    logger.setLevel(logging.INFO)
    connection.ensure_connection()
    rss_before, maxrss_before = rss_now_kb(), maxrss_kb()
    tracemalloc.start()
    started = time.perf_counter()
    counts = tiers_recalculate(today=today)
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    logger.removeHandler(log)
    changed = counts["initial"] + counts["upgraded"] + counts["downgraded"]
    return {
        "seconds": seconds,
        "counts": counts,
        "changed": changed,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_now_kb(),
        "maxrss_before_kb": maxrss_before,
        "maxrss_after_kb": maxrss_kb(),
        "tracemalloc_peak": traced_peak,
        "phases": log.lines,
    }


def aggregate_sql() -> str:
    return """
        SELECT member_id, sum(total_amount - returned_amount) AS spend,
               count(*) FILTER (WHERE returned_amount < total_amount) AS n
        FROM members_purchase
        WHERE occurred_at >= %(start)s AND occurred_at < %(end)s
        GROUP BY member_id
    """


# The same rules as tiers_recalculate, as one would write them by hand: the qualified tier
# (the highest whose two minimums are met, the entry tier otherwise), upgrades whatever the
# lock, no downgrade while locked or retained, then one level down. One row per member whose
# tier changes.
DECISION = f"""
    SELECT cur.member_id, cur.tier_id AS from_tier_id, ct.rank AS cur_rank,
           nt.id AS new_tier_id, nt.rank AS new_rank
    FROM tiers_membertier cur
    JOIN tiers_tier ct ON ct.id = cur.tier_id
    LEFT JOIN ({aggregate_sql()}) AS a ON a.member_id = cur.member_id
    CROSS JOIN LATERAL (
        SELECT coalesce(max(t.rank), (SELECT min(rank) FROM tiers_tier)) AS rank
        FROM tiers_tier t
        WHERE t.min_spend <= coalesce(a.spend, 0) AND t.min_purchases <= coalesce(a.n, 0)
    ) AS q
    JOIN tiers_tier nt ON nt.rank = CASE
        WHEN q.rank > ct.rank THEN q.rank
        WHEN cur.locked_until IS NOT NULL AND %(today)s < cur.locked_until THEN ct.rank
        WHEN q.rank < ct.rank AND %(today)s > cur.retained_until
            THEN (SELECT max(t2.rank) FROM tiers_tier t2 WHERE t2.rank < ct.rank)
        ELSE ct.rank END
    WHERE nt.id <> cur.tier_id
"""

# One UPDATE ... FROM (SELECT ... GROUP BY member_id): the tiers only, no history rows.
HAND_WRITTEN = f"""
    UPDATE tiers_membertier AS mt
    SET tier_id = d.new_tier_id, since = %(today)s, retained_until = %(kept)s,
        updated_at = now()
    FROM ({DECISION}) AS d
    WHERE mt.member_id = d.member_id
"""

# The same statement writing the job's history rows too (a data-modifying CTE).
HAND_WRITTEN_HISTORY = f"""
    WITH u AS (
        UPDATE tiers_membertier AS mt
        SET tier_id = d.new_tier_id, since = %(today)s, retained_until = %(kept)s,
            updated_at = now()
        FROM ({DECISION}) AS d
        WHERE mt.member_id = d.member_id
        RETURNING mt.member_id, d.from_tier_id, d.new_tier_id,
                  CASE WHEN d.new_rank > d.cur_rank THEN 'upgrade' ELSE 'downgrade' END AS reason
    )
    INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, at, actor_id, note)
    SELECT member_id, from_tier_id, new_tier_id, reason, now(), NULL, '' FROM u
"""


def work_mem() -> str | None:
    """The work_mem the job sets for itself (None: it sets none)."""
    from tiers import services_sql

    return getattr(services_sql, "WORK_MEM", None)


def set_work_mem(cur) -> None:
    if work_mem():
        cur.execute("SET work_mem = %s", [work_mem()])
    else:
        cur.execute("RESET work_mem")


def time_sql(conn, sql: str, params: dict) -> tuple[float, int, list]:
    with conn.cursor() as cur:
        set_work_mem(cur)
        started = time.perf_counter()
        cur.execute(sql, params)
        seconds = time.perf_counter() - started
        rows = cur.fetchall() if cur.description else []
        count = cur.rowcount
        cur.execute("RESET work_mem")
    return seconds, count, rows


def workers_planned(conn, sql: str, params: dict) -> int:
    with conn.cursor() as cur:
        set_work_mem(cur)
        cur.execute("EXPLAIN (FORMAT json) " + sql, params)
        plan = cur.fetchone()[0]
        cur.execute("RESET work_mem")
    text = json.dumps(plan)
    found = [
        int(part.split(",")[0].split("}")[0]) for part in text.split('"Workers Planned": ')[1:]
    ]
    return max(found, default=0)


def django_setup() -> None:
    for key, value in app_env().items():
        os.environ.setdefault(key, value)
    os.environ["DATABASE_URL"] = db_url()
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def server_facts(conn) -> dict:
    facts = {}
    with conn.cursor() as cur:
        for name in (
            "server_version",
            "shared_buffers",
            "work_mem",
            "maintenance_work_mem",
            "max_parallel_workers_per_gather",
            "max_wal_size",
            "jit",
        ):
            cur.execute(f"SHOW {name}")
            facts[name] = cur.fetchone()[0]
    return facts


def memory_total() -> str:
    with open("/proc/meminfo") as meminfo:
        kb = int(meminfo.readline().split()[1])
    return f"{kb / 2**20:.0f} GB"


def timed(func, *args) -> dict:
    """Run one variant; add the load average (1 min) before and after it."""
    before = os.getloadavg()[0]
    figures = func(*args)
    figures["load"] = (before, os.getloadavg()[0])
    return figures


def time_statement(conn, sql: str, params: dict) -> dict:
    seconds, count, rows = time_sql(conn, sql, params)
    return {"seconds": seconds, "rows": count, "result": rows}


def history_counts(conn) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT reason, count(*) FROM tiers_tierchange GROUP BY reason ORDER BY 1")
        return dict(cur.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=20_000_000)
    parser.add_argument(
        "--keep", action="store_true", help=f"keep {DB_NAME} at the end (for --skip-load)"
    )
    parser.add_argument(
        "--skip-load",
        action="store_true",
        help=f"time again on the {DB_NAME} a run with --keep left (implies --keep)",
    )
    args = parser.parse_args()
    if urlsplit(ADMIN_URL).scheme not in {"postgres", "postgresql"}:
        sys.exit("BENCH_ADMIN_URL must be a postgres:// URL")
    keep = args.keep or args.skip_load

    if args.skip_load:
        meta = read_meta()
        print(
            f"reusing {DB_NAME}: {meta['members']:,} members, {meta['purchases']:,} purchases "
            f"(loaded in {meta['seconds']:.0f} s); migrate",
            flush=True,
        )
        migrate()  # migrations added to the tree since it was loaded
    else:
        print(f"fresh database {DB_NAME}, migrate", flush=True)
        fresh_database()
        migrate()
        print(f"load {args.members:,} members, {args.purchases:,} purchases with COPY", flush=True)
        save_meta(load(args.members, args.purchases), args.members, args.purchases)
        meta = read_meta()
    today = date.fromisoformat(meta["today"])

    django_setup()
    from members.selectors import program_get
    from tiers import services_sql
    from tiers.services import tier_retained_until

    window = program_get().tier_window_months
    start, end = services_sql.tier_job_window(today, window)
    params = {
        "today": today,
        "kept": tier_retained_until(today, window_months=window),
        "start": start,
        "end": end,
    }
    admin = connect()
    data = {"facts": server_facts(admin), "window": (start, end)}
    with admin.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE returned_amount > 0), "
            "count(*) FILTER (WHERE returned_amount = total_amount), "
            "count(*) FILTER (WHERE occurred_at >= %(start)s AND occurred_at < %(end)s) "
            "FROM members_purchase",
            params,
        )
        data["returned"], data["fully_returned"], data["in_window"] = cur.fetchone()

    runs = {}
    print("tiers_recalculate, first run", flush=True)
    reset(admin)
    data["before_mix"] = tier_mix(admin)
    runs["first"] = timed(time_job, today)
    print(f"  {runs['first']['seconds']:.1f} s, {runs['first']['counts']}", flush=True)
    data["history"] = history_counts(admin)
    print("tiers_recalculate, second run (the same day)", flush=True)
    runs["second"] = timed(time_job, today)
    print(f"  {runs['second']['seconds']:.1f} s, {runs['second']['counts']}", flush=True)
    data["after_mix"] = tier_mix(admin)
    save_result(admin, "bench_tiers_after_job")

    print("hand-written statement, first run", flush=True)
    reset(admin)
    runs["hand_first"] = timed(time_statement, admin, HAND_WRITTEN, params)
    runs["hand_first"]["differ"] = differences(admin, "bench_tiers_after_job")
    print(
        f"  {runs['hand_first']['seconds']:.1f} s, {runs['hand_first']['rows']:,} rows updated, "
        f"{runs['hand_first']['differ']} rows differ from the job's",
        flush=True,
    )
    print("hand-written statement, second run", flush=True)
    runs["hand_second"] = timed(time_statement, admin, HAND_WRITTEN, params)
    print(f"  {runs['hand_second']['seconds']:.1f} s", flush=True)

    print("hand-written statement with the history rows, first run", flush=True)
    reset(admin)
    runs["hand_history"] = timed(time_statement, admin, HAND_WRITTEN_HISTORY, params)
    runs["hand_history"]["differ"] = differences(admin, "bench_tiers_after_job")
    runs["hand_history"]["history"] = history_counts(admin)
    print(
        f"  {runs['hand_history']['seconds']:.1f} s, {runs['hand_history']['rows']:,} "
        f"history rows, {runs['hand_history']['differ']} rows differ from the job's",
        flush=True,
    )

    print("the aggregate alone (SELECT)", flush=True)
    # Every column of the aggregate is used, or PostgreSQL would not compute it.
    counted = f"SELECT count(*), sum(spend), sum(n) FROM ({aggregate_sql()}) AS a"
    runs["aggregate"] = timed(time_statement, admin, counted, params)
    runs["aggregate"]["workers"] = workers_planned(admin, counted, params)
    print(
        f"  {runs['aggregate']['seconds']:.1f} s, {runs['aggregate']['workers']} workers planned",
        flush=True,
    )
    with admin.cursor() as cur:
        cur.execute("DROP TABLE bench_tiers_after_job")
    admin.close()

    write_report(args, meta, data, runs)
    print(f"report: {REPORT.relative_to(ROOT)}")
    if not keep:
        from django.db import connection

        connection.close()
        drop_database()
    failed = (
        runs["hand_first"]["differ"]
        or runs["hand_history"]["differ"]
        or runs["hand_history"]["history"] != data["history"]
        or runs["second"]["changed"]
        or runs["hand_second"]["rows"]
    )
    if failed:
        sys.exit("FAILED: the variants disagree, or a second run changed tiers")


def write_report(args, meta: dict, data: dict, runs: dict) -> None:
    facts = data["facts"]
    first, second = runs["first"], runs["second"]
    hand_first, hand_second, hand_history = (
        runs["hand_first"],
        runs["hand_second"],
        runs["hand_history"],
    )
    aggregate = runs["aggregate"]
    command = ".venv/bin/python bench/tiers/run.py"
    if args.skip_load:
        command += " --skip-load"
    else:
        command += f" --members {args.members} --purchases {args.purchases}"
        command += " --keep" if args.keep else ""
    ratio_first = first["seconds"] / hand_first["seconds"]
    ratio_second = second["seconds"] / hand_second["seconds"]
    ratio_history = first["seconds"] / hand_history["seconds"]
    start, end = data["window"]

    def mix(counts: dict) -> str:
        return " / ".join(f"{key} {n:,}" for key, n in counts.items()) or "none"

    def load(run: dict) -> str:
        return f"{run['load'][0]:.1f} → {run['load'][1]:.1f}"

    def job_row(name: str, run: dict) -> str:
        counts = run["counts"]
        return (
            f"| {name} | **{run['seconds']:.1f} s** | {run['changed']:,} (initial "
            f"{counts['initial']:,}, upgraded {counts['upgraded']:,}, downgraded "
            f"{counts['downgraded']:,}; unchanged {counts['unchanged']:,}) | "
            f"{mb(run['maxrss_before_kb'])} → {mb(run['maxrss_after_kb'])} | "
            f"{mb(run['rss_before_kb'])} → {mb(run['rss_after_kb'])} | "
            f"{run['tracemalloc_peak'] / 1024:,.0f} KiB | {load(run)} |"
        )

    def same(run: dict) -> str:
        return "yes" if run["differ"] == 0 else f"**NO: {run['differ']:,} rows differ**"

    load_rows = "\n".join(f"| {name} | {seconds:.1f} s |" for name, seconds in meta["phases"])
    reused = " (by an earlier run; this one reused the database)" if args.skip_load else ""
    verdict = {
        "under 60 s": first["seconds"] < 60 and second["seconds"] < 60,
        "within 2x": ratio_first <= 2 and ratio_second <= 2,
        "second run changes nothing": second["changed"] == 0,
        "same tiers": hand_first["differ"] == 0 and hand_history["differ"] == 0,
    }
    settings = ", ".join(
        f"{name} {facts[name]}"
        for name in (
            "shared_buffers",
            "work_mem",
            "maintenance_work_mem",
            "max_parallel_workers_per_gather",
            "max_wal_size",
            "jit",
        )
    )
    targets = "\n".join(
        f"- {name}: {'yes' if ok else '**NO**'}"
        for name, ok in (
            ("the whole recalculation under 60 s", verdict["under 60 s"]),
            ("within 2x of the hand-written statement", verdict["within 2x"]),
            ("the second run changes nothing", verdict["second run changes nothing"]),
            ("the statements give the job's tiers", verdict["same tiers"]),
        )
    )
    text = f"""# Tier recalculation benchmark

Command: `{command}`

Machine: {os.cpu_count()} cores, {memory_total()} RAM, Python {platform.python_version()}.
PostgreSQL {facts["server_version"]} on the same machine: {settings}.
Measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. DEBUG off.
Bench day {meta["today"]}: the job runs for it; the window is {start.isoformat()} to
{end.isoformat()} (12 months of local days).

## Data

{meta["members"]:,} members and {meta["purchases"]:,} purchases over the 18 months up to the
bench day, in time order: {data["in_window"]:,} in the window, {data["returned"]:,} with a
return ({data["fully_returned"]:,} in full). The purchases table and its indexes take
{meta["purchase_bytes"] / 2**30:.1f} GB. Member choice is skewed (a few buy very often, most
now and then; {LAPSED:.0%} bought only before the window); baskets are log-normal per member.
Every member holds a tier before the run, drawn at random whatever they spend and reached on
a day of the last two years (about half are past their retention), {LOCKED:.0%} locked by
staff: {mix(data["before_mix"])}.

Loaded with `COPY ... FROM PROGRAM` (psql, run by the server, streams `COPY (SELECT ...
generate_series ...) TO STDOUT` in binary; each table emptied in the same transaction, so the
rows are written frozen); secondary indexes and unique constraints dropped before and built
after (maintenance_work_mem 1GB); then VACUUM ANALYZE. **{meta["seconds"]:.0f} s** in
all{reused}:

| load step | time |
|---|---|
{load_rows}

## Recalculation

`tiers.services.tiers_recalculate(today={meta["today"]})` in the bench process, `tracemalloc`
on during the run (the job's time is spent in PostgreSQL). Before each variant the member
tiers are restored from a copy of the loaded state and the history emptied, then VACUUM and
CHECKPOINT.

| run | wall time | tiers changed | peak RSS (ru_maxrss) before → after | RSS before → after | tracemalloc peak | load avg before → after |
|---|---|---|---|---|---|---|
{job_row("first run", first)}
{job_row("second run, the same day", second)}

After the first run: {mix(data["after_mix"])}; history rows: {mix(data["history"])}.

The same computation as one hand-written statement, from the same starting state (same
rules: qualified tier from the thresholds, retention, policy one_level, staff locks;
work_mem {work_mem() or facts["work_mem"]} in its session, as the job has in its own):

| statement | wall time | rows | same tiers as the job | load avg before → after |
|---|---|---|---|---|
| `UPDATE tiers_membertier ... FROM (SELECT ... GROUP BY member_id)`, first run (no history rows) | **{hand_first["seconds"]:.1f} s** | {hand_first["rows"]:,} updated | {same(hand_first)} | {load(hand_first)} |
| the same, second run | {hand_second["seconds"]:.1f} s | {hand_second["rows"]:,} updated | — | {load(hand_second)} |
| the same writing the history rows too (`WITH u AS (UPDATE ... RETURNING) INSERT INTO tiers_tierchange ...`), first run | {hand_history["seconds"]:.1f} s | {hand_history["rows"]:,} history rows ({mix(hand_history["history"])}) | {same(hand_history)} | {load(hand_history)} |
| the aggregate alone, `SELECT ... GROUP BY member_id` ({aggregate["workers"]} parallel workers planned) | {aggregate["seconds"]:.1f} s | {aggregate["result"][0][0]:,} members | — | {load(aggregate)} |

Ratio job / hand-written `UPDATE`: **{ratio_first:.2f}** on the first run, **{ratio_second:.2f}**
on the second; against the statement that also writes the history rows, as the job does:
**{ratio_history:.2f}**.

Phases of the job (its log):

```
first run:
{chr(10).join(first["phases"]) or "(none logged)"}
second run:
{chr(10).join(second["phases"]) or "(none logged)"}
```

Targets (Python memory flat, no per-member objects: see RSS and tracemalloc above):

{targets}

The figures are wall times on a shared 2-core machine; the load average (1 min) around each
run shows how busy it was.
"""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)


if __name__ == "__main__":
    main()
