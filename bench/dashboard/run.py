"""Benchmark: the staff overview (its daily facts, JSON and page) and the member search at
1,000,000 members and 20,000,000 purchases.

Loads its own database ``loyalty_bench`` (``BENCH_DASHBOARD_DB``) on the server of
``BENCH_ADMIN_URL`` (default postgres://postgres@127.0.0.1:5432/postgres) with the tier
benchmark's loader (``bench/tiers/run.py``: ``COPY ... FROM PROGRAM`` of rows PostgreSQL
generates, secondary indexes dropped before and built after, rows written frozen), extended
with what the overview needs:

- 30 stores; members with Vietnamese names (accents), phones, emails (70%), joined over the
  three years up to the bench day, each enrolled at a store (a few big stores);
- purchases over the 760 days (two years and a month) up to the bench day, in time order,
  each on a local day between 08:00 and 22:00, bought only by members who had joined, 85% at
  the member's own store; 4% returned in part or in full (``returned_amount`` and a
  ``PurchaseReturn`` row);
- the point ledger: an earn entry per purchase (pending for the last ``pending_days``), a
  reverse entry per return, lots per member and quarter (spent in part, the older ones
  expired with an expire entry), spend entries, and accounts equal to the sums of their
  entries and lots (``verify_ledger`` clean); every member holds a tier (the tier
  benchmark's ``member_tiers_select``).

Then, each step in its own process where memory or coldness matters (DEBUG off):

1. ``manage.py insights_build --full``: wall time and peak RSS;
2. ``GET /staff/api/overview/`` and ``GET /staff/overview/`` through Django's test Client
   logged in as a Marketer, for a year and a month, chain-wide and one store: cold (first
   request of a fresh process, Django's cache cleared) and warm (median of ``--repeat``);
   the statements of a warm request with their EXPLAIN (ANALYZE, BUFFERS);
3. ``members.selectors.member_search`` for names without accents, phones in several forms,
   emails and card numbers: median and p95, and the plan of a name search.

Figures go to ``bench/reports/dashboard.md``.

    .venv/bin/python bench/dashboard/run.py [--members 1000000] [--purchases 20000000]
    .venv/bin/python bench/dashboard/run.py --reuse   # keep the loaded database if it matches
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "bench" / "reports" / "dashboard.md"
DB_NAME = os.environ.get("BENCH_DASHBOARD_DB", "loyalty_bench")


def _tier_bench():
    """The tier benchmark's module (its loader), pointed at this benchmark's database."""
    spec = importlib.util.spec_from_file_location("bench_tiers_run", ROOT / "bench/tiers/run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DB_NAME = DB_NAME
    return module


tb = _tier_bench()
TODAY = tb.TODAY  # the bench day (2026-11-23): purchases end on it
STORES = 30
JOIN_DAYS = 1095  # members joined over the three years up to the bench day
BUY_DAYS = 760  # purchases over two years and a month
HOME_SHARE = 0.85  # purchases at the member's own store
EMAIL_SHARE = 0.7
PERIODS = {
    "year": (TODAY - timedelta(days=364), TODAY),
    "month": (date(2026, 10, 1), date(2026, 10, 31)),
}

# Family names with their rough shares in Vietnam (Nguyễn about four in ten).
FAMILY = [
    ("Nguyễn", "nguyen", 38),
    ("Trần", "tran", 11),
    ("Lê", "le", 9),
    ("Phạm", "pham", 7),
    ("Hoàng", "hoang", 5),
    ("Huỳnh", "huynh", 5),
    ("Phan", "phan", 4),
    ("Vũ", "vu", 4),
    ("Võ", "vo", 4),
    ("Đặng", "dang", 2),
    ("Bùi", "bui", 2),
    ("Đỗ", "do", 2),
    ("Hồ", "ho", 2),
    ("Ngô", "ngo", 2),
    ("Dương", "duong", 2),
    ("Lý", "ly", 1),
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh"]
GIVEN = [
    ("An", "an"), ("Anh", "anh"), ("Bảo", "bao"), ("Bình", "binh"), ("Châu", "chau"),
    ("Chi", "chi"), ("Cường", "cuong"), ("Dũng", "dung"), ("Duy", "duy"), ("Giang", "giang"),
    ("Hà", "ha"), ("Hải", "hai"), ("Hạnh", "hanh"), ("Hiếu", "hieu"), ("Hoa", "hoa"),
    ("Hùng", "hung"), ("Hương", "huong"), ("Huy", "huy"), ("Khánh", "khanh"), ("Khoa", "khoa"),
    ("Lan", "lan"), ("Linh", "linh"), ("Long", "long"), ("Mai", "mai"), ("My", "my"),
    ("Nam", "nam"), ("Nga", "nga"), ("Ngân", "ngan"), ("Nhung", "nhung"), ("Phong", "phong"),
    ("Phúc", "phuc"), ("Phương", "phuong"), ("Quân", "quan"), ("Quang", "quang"),
    ("Sơn", "son"), ("Tâm", "tam"), ("Thảo", "thao"), ("Thắng", "thang"), ("Trang", "trang"),
    ("Trung", "trung"), ("Tuấn", "tuan"), ("Tùng", "tung"), ("Uyên", "uyen"), ("Việt", "viet"),
    ("Vy", "vy"), ("Xuân", "xuan"), ("Yến", "yen"), ("Bích", "bich"),
]  # fmt: skip
PROVINCES = ["Hà Nội", "TP Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế"]


def sql_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# ------------------------------------------------------------------------------ loading


def stores_sql() -> str:
    return (
        "INSERT INTO members_store (id, code, name, address, province, is_active, created_at) "
        f"SELECT g, 'CH' || lpad(g::text, 2, '0'), 'Cửa hàng ' || g, '', "
        f"({sql_array(PROVINCES)})[1 + g % {len(PROVINCES)}], true, now() "
        f"FROM generate_series(1, {STORES}) AS g"
    )


def home_store_sql(member: str) -> str:
    """A member's store: 1..STORES, skewed towards the low numbers (a few big stores)."""
    return f"(1 + floor({STORES} * power((hashint8({member} * 11 + 5) & 1048575) / 1048576.0, 1.6)))::bigint"


def members_select(members: int):
    weights = [w for _v, _a, w in FAMILY]
    cum, acc = [], 0
    for w in weights:
        acc += w
        cum.append(acc)
    total = acc
    family_case = " ".join(f"WHEN f < {c} THEN {i + 1}" for i, c in enumerate(cum[:-1]))
    body = "('9' || lpad(g::text, 10, '0'))"
    join_start = f"TIMESTAMPTZ '{TODAY - timedelta(days=JOIN_DAYS)} 00:00+07'"
    columns = [
        "id",
        "card_number",
        "referral_code",
        "full_name",
        "phone",
        "email",
        "joined_at",
        "enrolled_at_store_id",
    ]
    select = f"""
        SELECT g::bigint AS id,
               ({body} || {tb.luhn_sql(body)})::varchar(12) AS card_number,
               ('B' || lpad(g::text, 9, '0'))::varchar(12) AS referral_code,
               (({sql_array(v for v, _a, _w in FAMILY)})[fi] || ' ' ||
                ({sql_array(MIDDLE)})[1 + (h >> 8) % {len(MIDDLE)}] || ' ' ||
                ({sql_array(v for v, _a in GIVEN)})[gi])::varchar(150) AS full_name,
               ('+849' || lpad(g::text, 8, '0'))::varchar(16) AS phone,
               CASE WHEN (h >> 20) % 100 < {EMAIL_SHARE * 100:.0f}
                    THEN ({sql_array(a for _v, a in GIVEN)})[gi] || '.' ||
                         ({sql_array(a for _v, a, _w in FAMILY)})[fi] || g || '@example.vn'
               END::varchar(254) AS email,
               {join_start} + (g - 1 + 0.5) * INTERVAL '{JOIN_DAYS * 86400 / members} seconds'
                   AS joined_at,
               {home_store_sql("g")} AS enrolled_at_store_id
        FROM generate_series(1, {members}) AS g,
             LATERAL (SELECT hashint8(g * 13 + 7) & 2147483647 AS h) AS hh,
             LATERAL (SELECT CASE {family_case} ELSE {len(FAMILY)} END AS fi,
                             1 + (h >> 12) % {len(GIVEN)} AS gi
                      FROM (SELECT h % {total} AS f) AS ff) AS names
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


def purchases_select(members: int, purchases: int, pending_days: int):
    """In time order: purchase ``i`` on local day ``floor((i - 1) * BUY_DAYS / purchases)``
    between 08:00 and 22:00; its member among those who had joined by then (skewed: some buy
    often), 85% at their own store; 4% returned (1.5% in full)."""
    first_day = TODAY - timedelta(days=BUY_DAYS - 1)
    per_day = purchases / BUY_DAYS
    join_start = f"TIMESTAMPTZ '{TODAY - timedelta(days=JOIN_DAYS)} 00:00+07'"
    step = tb.coprime_step(members)
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
        "points_reversed",
    ]
    constants = {
        "items": "'[]'::jsonb",
        "points_discount": "0",
        "points_redeemed": "0",
        "points_refunded": "0",
        "source": "'pos'",
        "voucher_discount": "0",
        "payment_fingerprint": "''",
    }
    select = f"""
        SELECT i AS id, ('B' || i)::varchar(64) AS external_id, at AS occurred_at,
               amount AS total_amount, amount AS amount_due,
               at + INTERVAL '90 seconds' AS created_at, member_id,
               CASE WHEN r3 < {HOME_SHARE} THEN {home_store_sql("member_id")}
                    ELSE 1 + floor(r3 * 1000)::bigint % {STORES} END AS store_id,
               points AS points_earned, returned AS returned_amount,
               floor(returned / 10000)::bigint AS points_reversed
        FROM (
            SELECT i, at, member_id, amount, r3, floor(amount / 10000)::bigint AS points,
                   (CASE WHEN r < 0.015 THEN amount
                         WHEN r < 0.04 THEN greatest(1000, round(amount * r2 / 1000) * 1000)
                         ELSE 0 END)::numeric(16, 2) AS returned
            FROM (
                SELECT i, at, random() AS r, random() AS r2, random() AS r3,
                       1 + (floor(joined * power(random(), 1.8))::bigint * {step}) % joined
                           AS member_id,
                       greatest(10000, round(exp(13.1 + 0.9 * (random() + random() + random()
                                                               - 1.5)) / 1000) * 1000
                       )::numeric(16, 2) AS amount
                FROM (
                    SELECT i, at,
                           greatest(1, least({members}, floor(
                               extract(epoch FROM at - {join_start})
                               / {JOIN_DAYS * 86400 / members})))::bigint AS joined
                    FROM (
                        SELECT i, TIMESTAMPTZ '{first_day} 08:00+07'
                                  + floor(x) * INTERVAL '1 day'
                                  + (x - floor(x)) * INTERVAL '14 hours' AS at
                        FROM (SELECT i, (i - 1) / {per_day}::float8 AS x
                              FROM generate_series(1, {purchases}::bigint) AS i) AS d
                    ) AS t
                ) AS j
            ) AS b
        ) AS c
    """
    return columns, select, constants


def returns_select():
    columns = [
        "id",
        "external_id",
        "amount",
        "points_reversed",
        "created_at",
        "purchase_id",
        "store_id",
    ]
    select = f"""
        SELECT id, ('R' || id)::varchar(64) AS external_id, returned_amount AS amount,
               points_reversed,
               least(occurred_at + INTERVAL '3 days', TIMESTAMPTZ '{TODAY} 21:00+07')
                   AS created_at,
               id AS purchase_id, store_id
        FROM members_purchase WHERE returned_amount > 0
    """
    return columns, select, {"items": "'[]'::jsonb", "points_refunded": "0"}


# Lots: one per member and quarter of earning (net of returns); the purchases of the last
# pending_days are one pending lot. Each lot is spent in part (older lots more); lots whose
# expiry has passed are expired (an expire entry for what was left).
def lots_stage_sql(pending_days: int, expiry_months: int) -> str:
    pending_from = f"TIMESTAMPTZ '{TODAY - timedelta(days=pending_days - 1)} 00:00+07'"
    return f"""
        CREATE UNLOGGED TABLE bench_lots AS
        SELECT row_number() OVER (ORDER BY earned_on, member_id)::bigint AS id, *,
               CASE WHEN pending THEN 0
                    ELSE floor(net * CASE WHEN expires_on < DATE '{TODAY}'
                                          THEN 0.3 + 0.6 * u
                                          ELSE least(0.8, greatest(0, (DATE '{TODAY}'
                                               - earned_on) / 400.0) * u * 1.5) END)::bigint
               END AS spent
        FROM (
            SELECT member_id, pending, gross, net, earned_on,
                   (date_trunc('month', earned_on) + INTERVAL '{expiry_months + 1} months'
                    - INTERVAL '1 day')::date AS expires_on,
                   (hashint8(member_id * 31 + extract(epoch FROM earned_on)::bigint)
                    & 1048575) / 1048576.0 AS u
            FROM (
                SELECT member_id, occurred_at >= {pending_from} AS pending,
                       sum(points_earned)::bigint AS gross,
                       sum(points_earned - points_reversed)::bigint AS net,
                       max((occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS earned_on
                FROM members_purchase
                GROUP BY member_id, occurred_at >= {pending_from},
                         date_trunc('quarter', occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh')
            ) AS g
        ) AS l
        WHERE net > 0
    """


def lots_select():
    columns = [
        "id",
        "points",
        "remaining",
        "status",
        "earned_on",
        "matures_on",
        "expires_on",
        "created_at",
        "member_id",
    ]
    select = f"""
        SELECT id, net AS points,
               CASE WHEN expires_on < DATE '{TODAY}' THEN 0 ELSE net - spent END AS remaining,
               (CASE WHEN pending THEN 'pending'
                     WHEN expires_on < DATE '{TODAY}' THEN 'expired'
                     ELSE 'available' END)::varchar(10) AS status,
               earned_on, CASE WHEN pending THEN earned_on + 7 END AS matures_on,
               expires_on, (earned_on + TIME '22:00') AT TIME ZONE 'Asia/Ho_Chi_Minh' AS created_at,
               member_id
        FROM bench_lots
    """
    return columns, select, {}


def entries_select(pending_days: int, purchases: int):
    """Earn (one per purchase; id = purchase id), reverse (one per return), spend and
    expire (per lot) entries."""
    pending_from = f"TIMESTAMPTZ '{TODAY - timedelta(days=pending_days - 1)} 00:00+07'"
    columns = [
        "id",
        "kind",
        "available_delta",
        "pending_delta",
        "created_at",
        "member_id",
        "purchase_id",
        "purchase_return_id",
        "lot_id",
        "lots_expire_on",
    ]
    select = f"""
        SELECT id, 'earn'::varchar(8) AS kind,
               CASE WHEN occurred_at >= {pending_from} THEN 0 ELSE points_earned END
                   AS available_delta,
               CASE WHEN occurred_at >= {pending_from} THEN points_earned ELSE 0 END
                   AS pending_delta,
               created_at, member_id, id AS purchase_id, NULL::bigint AS purchase_return_id,
               NULL::bigint AS lot_id, NULL::date AS lots_expire_on
        FROM members_purchase WHERE points_earned > 0
        UNION ALL
        SELECT {purchases} + id, 'reverse',
               CASE WHEN occurred_at >= {pending_from} THEN 0 ELSE -points_reversed END,
               CASE WHEN occurred_at >= {pending_from} THEN -points_reversed ELSE 0 END,
               least(occurred_at + INTERVAL '3 days', TIMESTAMPTZ '{TODAY} 21:00+07'),
               member_id, id, id, NULL, NULL
        FROM members_purchase WHERE points_reversed > 0
        UNION ALL
        SELECT 2 * {purchases} + id, 'spend', -spent, 0,
               (least(earned_on + 1 + floor(u * 200)::int, DATE '{TODAY}',
                      expires_on) + TIME '12:00') AT TIME ZONE 'Asia/Ho_Chi_Minh',
               member_id, NULL, NULL, NULL, expires_on
        FROM bench_lots WHERE spent > 0
        UNION ALL
        SELECT 3 * {purchases} + id, 'expire', -(net - spent), 0,
               ((expires_on + 1) + TIME '00:30') AT TIME ZONE 'Asia/Ho_Chi_Minh',
               member_id, NULL, NULL, id, NULL
        FROM bench_lots WHERE expires_on < DATE '{TODAY}' AND net > spent
    """
    constants = {"reason": "''", "actor_label": "''"}
    return columns, select, constants


def accounts_select(members: int):
    columns = [
        "member_id",
        "available",
        "pending",
        "lifetime_earned",
        "lifetime_spent",
        "lifetime_expired",
    ]
    select = f"""
        SELECT g AS member_id,
               coalesce(l.available, 0)::bigint AS available,
               coalesce(l.pending, 0)::bigint AS pending,
               coalesce(l.earned, 0)::bigint AS lifetime_earned,
               coalesce(l.spent, 0)::bigint AS lifetime_spent,
               coalesce(l.expired, 0)::bigint AS lifetime_expired
        FROM generate_series(1, {members}::bigint) AS g
        LEFT JOIN (
            SELECT member_id,
                   sum(net - spent) FILTER (WHERE NOT pending
                                             AND expires_on >= DATE '{TODAY}') AS available,
                   sum(net) FILTER (WHERE pending) AS pending,
                   sum(gross) AS earned, sum(spent) AS spent,
                   sum(net - spent) FILTER (WHERE expires_on < DATE '{TODAY}') AS expired
            FROM bench_lots GROUP BY member_id
        ) AS l ON l.member_id = g
    """
    return columns, select, {"updated_at": f"TIMESTAMPTZ '{TODAY} 22:00+07'"}


def load(members: int, purchases: int) -> dict:
    import psycopg2

    phases = tb.Phases()
    conn = psycopg2.connect(tb.db_url())
    cur = conn.cursor()
    cur.execute("SET maintenance_work_mem = '1GB'")
    cur.execute("SET work_mem = '256MB'")
    cur.execute("SET session_replication_role = replica")  # no FK triggers row by row
    cur.execute("SELECT pending_days, expiry_months FROM members_program WHERE id = 1")
    pending_days, expiry_months = cur.fetchone()
    cur.execute(stores_sql())
    conn.commit()
    figures: dict = {}

    def copy_table(table, spec):
        columns, select, constants = spec
        indexes = tb.secondary_indexes(cur, table)
        tb.drop_indexes(cur, table, indexes)
        conn.commit()
        figures[table] = phases.run(
            f"COPY {table}", tb.copy_generated, cur, table, columns, select, constants
        )
        phases.run(f"indexes of {table} ({len(indexes)})", tb.build_indexes, cur, table, indexes)
        conn.commit()

    copy_table("members_member", members_select(members))
    copy_table("tiers_membertier", tb.member_tiers_select(members))
    copy_table("members_purchase", purchases_select(members, purchases, pending_days))
    copy_table("members_purchasereturn", returns_select())
    cur.execute("ANALYZE members_purchase")
    phases.run("lots staged (bench_lots)", cur.execute, lots_stage_sql(pending_days, expiry_months))
    conn.commit()
    copy_table("members_pointlot", lots_select())
    copy_table("members_pointentry", entries_select(pending_days, purchases))
    copy_table("members_pointaccount", accounts_select(members))
    cur.execute("DROP TABLE bench_lots")
    for table in (
        "members_store",
        "members_member",
        "members_purchase",
        "members_purchasereturn",
        "members_pointlot",
        "members_pointentry",
    ):
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    conn.commit()
    conn.autocommit = True
    phases.run("VACUUM ANALYZE", cur.execute, "VACUUM ANALYZE")
    cur.execute("SELECT pg_database_size(current_database())")
    figures["database_bytes"] = cur.fetchone()[0]
    conn.close()
    figures["phases"] = phases.items
    figures["seconds"] = sum(seconds for _name, seconds in phases.items)
    return figures


META = "bench_dashboard_meta"


def save_meta(figures: dict, members: int, purchases: int) -> None:
    conn = tb.connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {META}")
        cur.execute(f"CREATE TABLE {META} (data jsonb NOT NULL)")
        meta = {"today": TODAY.isoformat(), "members": members, "purchases": purchases}
        cur.execute(f"INSERT INTO {META} VALUES (%s)", [json.dumps(meta | figures)])
    conn.close()


def read_meta() -> dict | None:
    import psycopg2

    try:
        conn = tb.connect()
    except psycopg2.OperationalError:
        return None
    with conn.cursor() as cur:
        cur.execute(f"SELECT to_regclass('{META}')")
        if cur.fetchone()[0] is None:
            conn.close()
            return None
        cur.execute(f"SELECT data FROM {META}")
        meta = cur.fetchone()[0]
    conn.close()
    return meta


def data_facts() -> dict:
    conn = tb.connect()
    out = {}
    with conn.cursor() as cur:
        for name, sql in (
            ("stores", "SELECT count(*) FROM members_store"),
            ("emails", "SELECT count(email) FROM members_member"),
            ("returns", "SELECT count(*) FROM members_purchasereturn"),
            ("lots", "SELECT count(*) FROM members_pointlot"),
            ("entries", "SELECT count(*) FROM members_pointentry"),
            (
                "entry_kinds",
                "SELECT json_object_agg(kind, n) FROM (SELECT kind, count(*) AS n "
                "FROM members_pointentry GROUP BY kind) AS k",
            ),
            (
                "outstanding",
                "SELECT sum(available + pending) FROM members_pointaccount",
            ),
            (
                "first_purchase",
                "SELECT min(occurred_at)::text || ' / ' || max(occurred_at)::text "
                "FROM members_purchase",
            ),
            (
                "names",
                "SELECT string_agg(full_name, ', ') FROM (SELECT full_name FROM members_member "
                "WHERE id % greatest(1, (SELECT count(*) / 6 FROM members_member)) = 1 "
                "LIMIT 6) AS s",
            ),
        ):
            cur.execute(sql)
            out[name] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM members_pointaccount a LEFT JOIN (SELECT member_id, "
            "sum(available_delta) AS av, sum(pending_delta) AS pe FROM members_pointentry "
            "GROUP BY member_id) e USING (member_id) "
            "WHERE a.available <> coalesce(e.av, 0) OR a.pending <> coalesce(e.pe, 0)"
        )
        out["accounts_off_entries"] = cur.fetchone()[0]
    conn.close()
    return out


# ------------------------------------------------------------------------------- timing


def run_child(step: str, *extra: str) -> dict:
    """``step`` of this script in a fresh process; its JSON result, wall time, peak RSS."""
    started = time.perf_counter()
    done = subprocess.run(
        [tb.PY, str(Path(__file__).resolve()), "--child", step, *extra],
        cwd=ROOT,
        env=tb.app_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout)[-3000:], "process_seconds": seconds}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = seconds
    return result


def facts_build() -> dict:
    """``manage.py insights_build --full`` in its own process: wall time and peak RSS."""
    before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [tb.PY, "manage.py", "insights_build", "--full"],
        cwd=ROOT,
        env=tb.app_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": seconds,
        "returncode": done.returncode,
        "output": (done.stdout + done.stderr)[-2000:],
        "maxrss_kb": usage.ru_maxrss,  # the largest child so far (migrate's is smaller)
        "load": (before, os.getloadavg()[0]),
    }


def child_setup():
    tb.django_setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    import loyalty.wsgi  # noqa: F401 (boots as a server worker does, warm-up included)
    from members.roles import MARKETER

    user, _created = get_user_model().objects.get_or_create(
        email="bench-marketer@example.vn", defaults={"name": "Bench", "is_staff": True}
    )
    user.groups.add(Group.objects.get(name=MARKETER))
    from django.conf import settings
    from django.test import Client

    # No collectstatic here: static URLs without the manifest (its lookup is a dict get).
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    client = Client()
    client.force_login(user)
    return client


def overview_url(kind: str, period: str, store: str | None) -> str:
    start, end = PERIODS[period]
    params = {"start": start.isoformat(), "end": end.isoformat()}
    if store:
        params["store"] = store
    path = "/staff/api/overview/" if kind == "json" else "/staff/overview/"
    return f"{path}?{urlencode(params)}"


def child_overview(kind: str, period: str, store: str, repeat: int, plans: bool) -> dict:
    """First request of this process (Django's cache cleared: cold), then ``repeat`` more."""
    client = child_setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    url = overview_url(kind, period, store or None)
    started = time.perf_counter()
    response = client.get(url, HTTP_HOST="localhost", secure=True)
    cold = time.perf_counter() - started
    result = {
        "url": url,
        "status": response.status_code,
        "cold": cold,
        "bytes": len(response.content),
    }
    if response.status_code != 200:
        result["body"] = response.content[:500].decode(errors="replace")
        return result
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, HTTP_HOST="localhost", secure=True)
        warm.append(time.perf_counter() - started)
    result["warm"] = warm
    cache.clear()  # the statements of an uncached request
    with CaptureQueriesContext(connection) as captured:
        client.get(url, HTTP_HOST="localhost", secure=True)
    queries = [(q["sql"], float(q["time"])) for q in captured.captured_queries]
    result["queries"] = [{"sql": sql, "ms": seconds * 1000} for sql, seconds in queries]
    if plans:
        result["plans"] = explain(
            [sql for sql, _t in queries if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
        )
    if kind == "json":
        result["figures"] = json.loads(response.content)
    return result


def explain(statements: list[str]) -> list[dict]:
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for sql in statements:
            if "django_session" in sql or "auth_" in sql or "django_content_type" in sql:
                continue  # the login's statements, not the overview's
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            out.append({"sql": sql, "plan": "\n".join(row[0] for row in cursor.fetchall())})
    return out


def search_queries(n: int) -> dict[str, list[str]]:
    """Queries as staff type them, drawn from the loaded members."""
    from members.models import Member
    from members.search import name_key

    count = Member.objects.count()
    ids = [1 + (i * 7919 + 12345) % count for i in range(n)]
    people = {m.pk: m for m in Member.objects.filter(pk__in=ids)}
    kinds: dict[str, list[str]] = {
        "name, full": [],
        "name, given name begun": [],
        "name, two words": [],
        "phone": [],
        "email": [],
        "card number": [],
    }
    for i, pk in enumerate(ids):
        m = people.get(pk)
        if m is None:
            continue
        words = name_key(m.full_name).split()
        kinds["name, full"].append(" ".join(words))
        kinds["name, given name begun"].append(" ".join([*words[:2], words[2][:1]]))
        kinds["name, two words"].append(f"{words[2]} {words[0]}")
        local = "0" + m.phone[3:]
        kinds["phone"].append(
            [
                local,
                f"+84 {local[1:3]} {local[3:6]} {local[6:]}",
                m.phone[1:],
                f"{local[:4]}.{local[4:7]}.{local[7:]}",
            ][i % 4]
        )
        if m.email:
            kinds["email"].append(m.email.upper() if i % 2 else m.email)
        card = m.card_number
        kinds["card number"].append(f"{card[:4]} {card[4:8]} {card[8:]}" if i % 2 else card)
    return kinds


def child_search(n: int) -> dict:
    tb.django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from members.selectors import member_search

    kinds = search_queries(n)
    member_search("warm up")  # connection, imports
    result = {}
    for kind, queries in kinds.items():
        times, found = [], 0
        for q in queries:
            started = time.perf_counter()
            hits = member_search(q)
            times.append(time.perf_counter() - started)
            found += bool(hits)
        result[kind] = {
            "n": len(times),
            "found": found,
            "median_ms": statistics.median(times) * 1000,
            "p95_ms": percentile(times, 95) * 1000,
            "max_ms": max(times) * 1000,
            "examples": queries[:3],
        }
    plans = {}
    for label, q in (
        ("name, full", kinds["name, full"][0]),
        ("name, given name begun", kinds["name, given name begun"][0]),
        ("phone", kinds["phone"][0]),
    ):
        with CaptureQueriesContext(connection) as captured:
            member_search(q)
        plans[label] = {
            "query": q,
            "plans": explain([c["sql"] for c in captured.captured_queries]),
        }
    result["plans"] = plans
    return result


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def child_main(argv: list[str]) -> None:
    step = argv[0]
    if step == "overview":
        kind, period, store, repeat, plans = argv[1:6]
        out = child_overview(kind, period, store, int(repeat), plans == "1")
    elif step == "search":
        out = child_search(int(argv[1]))
    elif step == "verify":
        tb.django_setup()
        from members.selectors import ledger_discrepancies

        out = {"discrepancies": len(ledger_discrepancies())}
    else:
        raise SystemExit(f"unknown step {step}")
    print(json.dumps(out, default=str))


# ------------------------------------------------------------------------------- report


def write_report(args, meta, data, build, overview, search, verify) -> dict:
    facts = data["server"]
    settings = ", ".join(
        f"{name} {facts[name]}"
        for name in (
            "shared_buffers",
            "work_mem",
            "max_parallel_workers_per_gather",
            "jit",
        )
    )
    command = (
        f".venv/bin/python bench/dashboard/run.py --members {meta['members']} "
        f"--purchases {meta['purchases']}"
    )
    if args.reuse:
        command += " --reuse"
    command += f" --repeat {args.repeat} --searches {args.searches}"
    load_rows = "\n".join(f"| {name} | {seconds:.1f} s |" for name, seconds in meta["phases"])
    d = data["data"]
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted((d["entry_kinds"] or {}).items()))

    def yes(ok: bool) -> str:
        return "yes" if ok else "**NO**"

    rows = []
    headline = {}
    for key, run in overview.items():
        kind, period, store = key
        scope = f"store {store}" if store else "chain"
        label = f"{'JSON' if kind == 'json' else 'page'} {period}, {scope}"
        if "error" in run or run.get("status") != 200:
            rows.append(f"| {label} | — | — | — | **failed** ({_short(run)}) |")
            continue
        warm = statistics.median(run["warm"]) if run["warm"] else float("nan")
        ok = run["cold"] < 1 and warm < 1
        rows.append(
            f"| {label} | {run['cold'] * 1000:,.0f} ms | {warm * 1000:,.0f} ms "
            f"(n={len(run['warm'])}, max {max(run['warm']) * 1000:,.0f}) | "
            f"{len(run['queries'])} | {yes(ok)} |"
        )
        if kind == "json" and not store:
            headline[period] = max(run["cold"], warm)
    plan_text = []
    for key, run in overview.items():
        if not run.get("plans"):
            continue
        kind, period, store = key
        plan_text.append(f"### {kind} {period} {'store ' + store if store else 'chain'}\n")
        for q in run["queries"]:
            plan_text.append(f"- {q['ms']:.1f} ms: `{_clip(q['sql'], 160)}`")
        for p in run["plans"]:
            plan_text.append(f"\n```sql\n{_clip(p['sql'], 2500)}\n```\n```\n{p['plan']}\n```")
    search_rows = []
    p95_all = []
    for kind, s in search.items():
        if kind in ("plans", "error", "process_seconds"):
            continue
        p95_all.append(s["p95_ms"])
        search_rows.append(
            f"| {kind} | {s['n']} | {s['found']} | {s['median_ms']:.1f} ms | {s['p95_ms']:.1f} ms "
            f"| {s['max_ms']:.1f} ms | {yes(s['p95_ms'] < 100)} | `{'`, `'.join(s['examples'])}` |"
        )
    search_plans = []
    for label, p in (search.get("plans") or {}).items():
        search_plans.append(f"### {label}: `{p['query']}`\n")
        for one in p["plans"]:
            search_plans.append(f"```sql\n{_clip(one['sql'], 2500)}\n```\n```\n{one['plan']}\n```")
    figures_json = ""
    chain_year = overview.get(("json", "year", ""), {})
    if chain_year.get("figures"):
        shown = {k: v for k, v in chain_year["figures"].items() if not isinstance(v, (list, dict))}
        figures_json = json.dumps(shown, indent=1, ensure_ascii=False)
    text = f"""# Overview and member search benchmark

Command: `{command}`

Machine: {os.cpu_count()} cores shared with other work, {tb.memory_total()} RAM, Python
{platform.python_version()}. PostgreSQL {facts["server_version"]} on the same machine:
{settings}. Measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average (1 min)
{data["load_before"]:.1f} at the start. DEBUG off. Bench day {meta["today"]}.

## Data

{meta["members"]:,} members (joined over {JOIN_DAYS} days, {d["emails"]:,} with an email,
names such as {d["names"]}), {d["stores"]} stores, {meta["purchases"]:,} purchases
({d["first_purchase"]}), {d["returns"]:,} returns, {d["lots"]:,} point lots, {d["entries"]:,}
point entries ({kinds}); {d["outstanding"]:,} points outstanding. Accounts that differ from
the sum of their entries: {d["accounts_off_entries"]}; `verify_ledger`:
{verify.get("discrepancies", verify.get("error", "?"))} discrepancies. Database
{meta["database_bytes"] / 2**30:.1f} GB.

Loaded with the tier benchmark's loader (`bench/tiers/run.py`: `COPY ... FROM PROGRAM`,
frozen rows, indexes built after): **{meta["seconds"]:.0f} s**
{"(by an earlier run; this one reused the database)" if args.reuse and not data["loaded"] else ""}

| load step | time |
|---|---|
{load_rows}

## Facts build

`manage.py insights_build --full` in its own process: {_build_line(build)}

## Overview (target: under 1 s)

Through Django's test Client in a fresh process per row, logged in as a Marketer (the whole
chain), DEBUG off. Year {PERIODS["year"][0]} to {PERIODS["year"][1]}, month
{PERIODS["month"][0]} to {PERIODS["month"][1]}; the store is the biggest one.

"Cold" is the first request of a fresh Python process with Django's cache cleared, booted
as a server worker boots (`loyalty.wsgi` imported: settings, apps and the URLconf with its
views, `loyalty/warmup.py`): the middleware chain, template loading, the database
connection and every query run for the first time. It cannot mean a cold PostgreSQL: the server and the machine's page cache are shared
with other work and were not restarted or dropped (that would disturb everyone else), so the
facts tables are most likely in shared_buffers or the OS cache already; the BUFFERS of the
plans below say how many pages were read from outside shared_buffers ("read=").

| request | cold | warm (median) | statements | under 1 s |
|---|---|---|---|---|
{chr(10).join(rows)}

Chain-wide figures for the year (scalars):

```json
{figures_json}
```

## Member search (target: under 100 ms)

`members.selectors.member_search(q)` in one process over {meta["members"]:,} members, each
query once, after one warm-up query.

| kind | queries | found something | median | p95 | max | p95 under 100 ms | examples |
|---|---|---|---|---|---|---|---|
{chr(10).join(search_rows) or "| failed | " + _short(search) + " |"}

{chr(10).join(search_plans)}

## Plans of the overview's statements

Each uncached request's statements (CaptureQueriesContext) with their time, then EXPLAIN
(ANALYZE, BUFFERS) of each SELECT (sign-in statements left out).

{chr(10).join(plan_text)}
"""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    return {
        "year": headline.get("year"),
        "month": headline.get("month"),
        "search_p95": max(p95_all) if p95_all else None,
    }


def _short(run: dict) -> str:
    return _clip((run.get("error") or run.get("body") or str(run.get("status", ""))), 300)


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split()) if n < 300 else str(text)
    return text if len(text) <= n else text[:n] + " …"


def _build_line(build: dict) -> str:
    if build.get("skipped"):
        return "not run (--skip-build)."
    ok = "ok" if build["returncode"] == 0 else f"**failed** (exit {build['returncode']})"
    return (
        f"**{build['seconds']:.0f} s**, peak RSS {tb.mb(build['maxrss_kb'])}, {ok}, load "
        f"average {build['load'][0]:.1f} → {build['load'][1]:.1f}.\n\n```\n"
        f"{build['output'].strip()[-1500:]}\n```"
    )


# --------------------------------------------------------------------------------- main


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=20_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a database of the same sizes")
    parser.add_argument("--repeat", type=int, default=7, help="warm requests per row")
    parser.add_argument("--searches", type=int, default=200, help="queries per search kind")
    parser.add_argument("--skip-build", action="store_true", help="facts already built")
    args = parser.parse_args()
    if urlsplit(tb.ADMIN_URL).scheme not in {"postgres", "postgresql"}:
        sys.exit("BENCH_ADMIN_URL must be a postgres:// URL")
    data = {"load_before": os.getloadavg()[0], "loaded": False}
    meta = read_meta() if args.reuse else None
    if meta and (meta["members"], meta["purchases"]) == (args.members, args.purchases):
        print(f"reusing {DB_NAME}; migrate", flush=True)
        tb.migrate()
    else:
        print(f"fresh database {DB_NAME}, migrate", flush=True)
        tb.fresh_database()
        tb.migrate()
        print(f"load {args.members:,} members, {args.purchases:,} purchases", flush=True)
        save_meta(load(args.members, args.purchases), args.members, args.purchases)
        meta = read_meta()
        data["loaded"] = True
    admin = tb.connect()
    data["server"] = tb.server_facts(admin)
    admin.close()
    data["data"] = data_facts()
    print("verify_ledger", flush=True)
    verify = run_child("verify")
    print(f"  {verify}", flush=True)

    if args.skip_build:
        build = {"skipped": True}
    else:
        print("insights_build --full", flush=True)
        build = facts_build()
        print(f"  {build['seconds']:.1f} s, exit {build['returncode']}", flush=True)

    conn = tb.connect()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT s.code FROM members_purchase p JOIN members_store s ON s.id = p.store_id "
            "WHERE p.id % 1000 = 0 GROUP BY s.code ORDER BY count(*) DESC LIMIT 1"
        )
        store = cur.fetchone()[0]
    conn.close()
    overview = {}
    for kind in ("json", "page"):
        for period in ("year", "month"):
            for scope in ("", store):
                plans = "1" if (period == "year" or kind == "json") else "0"
                key = (kind, period, scope)
                print(f"overview {kind} {period} {scope or 'chain'}", flush=True)
                overview[key] = run_child("overview", kind, period, scope, str(args.repeat), plans)
                run = overview[key]
                if "error" in run or run.get("status") != 200:
                    print(f"  failed: {_short(run)}", flush=True)
                else:
                    print(
                        f"  cold {run['cold'] * 1000:.0f} ms, warm median "
                        f"{statistics.median(run['warm']) * 1000:.0f} ms",
                        flush=True,
                    )
    print("member search", flush=True)
    search = run_child("search", str(args.searches))
    if "error" in search:
        print(f"  failed: {_short(search)}", flush=True)
    headline = write_report(args, meta, data, build, overview, search, verify)
    print(f"report: {REPORT.relative_to(ROOT)}")

    def fmt(value, scale=1.0, digits=3):
        return "NA" if value is None else f"{value * scale:.{digits}f}"

    print(
        f"overview_year_json_s={fmt(headline['year'])} "
        f"overview_month_json_s={fmt(headline['month'])} "
        f"search_p95_ms={fmt(headline['search_p95'], 1, 1)} members={meta['members']}"
    )


if __name__ == "__main__":
    main()
