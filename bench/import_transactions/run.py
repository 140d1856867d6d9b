"""Benchmark: ``import_transactions`` of a large CSV file on PostgreSQL.

Migrates the scratch database given by ``DATABASE_URL`` (it must be PostgreSQL and hold no
members yet), enrols ``--members`` members, writes a CSV of ``--rows`` purchases over the
last 18 months (member written as a card number, a phone in three forms or an email; times
with an offset, in UTC, naive or a bare date) to a temporary directory, then imports it three
times, each in a fresh Python process so each peak RSS is its own:

1. into store BENCH1: wall time, rows/s and peak RSS (``ru_maxrss``);
2. into store BENCH2, the same file, with ``tracemalloc`` on: the peak of Python
   allocations (tracemalloc slows Python down, so this run's time is not the figure);
3. into BENCH1 again: every row is "already imported" (the cost of a safe re-run).

With ``--create-share 0.33`` a third of the rows name a phone or an email that is no member
yet (each a new one, as a phone in one of three forms or an email in capitals), so the
import, run with ``--create-members``, creates as many members; a fifth of the other rows
name one of those new people again, written another way (the same person must stay one
member). Run 2 then imports a second file of the same shape whose new people are others,
so that it creates members too. Without it every row names a seeded member.

``verify_ledger`` runs at the end. Figures go to ``bench/reports/import_transactions.md``,
in the section of the mode (the other mode's section is kept).

    createdb -h 127.0.0.1 -U postgres bench_import
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_import \\
        .venv/bin/python bench/import_transactions/run.py [--rows 1000000] [--members 10000] \\
        [--create-share 0.33]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "bench" / "reports" / "import_transactions.md"
SEED = 20250615
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def django_env() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit(
            "This benchmark runs on PostgreSQL only: set DATABASE_URL=postgres://... to a "
            "scratch database (createdb -h 127.0.0.1 -U postgres loyalty_bench_import)."
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    # Measure what production runs: DEBUG off (DEBUG keeps the text of recent queries).
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:9")  # DEBUG off refuses the console
    os.environ.setdefault("LOG_LEVEL", "INFO")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rss_now_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ------------------------------------------------------------------------- the child


def child(args) -> None:
    """One import in this process; prints its figures as JSON on the last line."""
    django_env()
    from members.models import Store
    from pos.services.imports import transactions_import

    store = Store.objects.get(code=args.store)
    rss_before = rss_now_kb()
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    result = transactions_import(path=args.file, store=store, create_members=args.create_members)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    figures = {
        "seconds": seconds,
        "rows": result.rows,
        "imported": result.imported,
        "already_imported": result.already_imported,
        "members_created": result.members_created,
        "rejected": result.rejected,
        "points": result.points_credited,
        "pending": result.points_pending,
        "matured": result.lots_matured,
        "expired": result.lots_expired,
        "rss_before_kb": rss_before,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "tracemalloc_peak": peak,
    }
    print(json.dumps(figures))


# ------------------------------------------------------------------------ the parent


def seed_members(count: int) -> list[tuple[str, str, str]]:
    """``count`` members with accounts, bulk-inserted (setting up is not what is measured).
    Returns (card number, phone E.164, email) of each."""
    from django.db import transaction

    from members.identifiers import card_number_generate, phone_normalize, referral_code_generate
    from members.models import Member, PointAccount
    from members.services import store_create_or_update

    for code in ("BENCH1", "BENCH2"):
        store_create_or_update(code=code, name=f"Bench {code}")
    cards, codes = set(), set()
    while len(cards) < count:
        cards.add(card_number_generate())
    while len(codes) < count:
        codes.add(referral_code_generate())
    people = [
        (card, f"+8490{n:07d}", f"member{n}@bench.example") for n, card in enumerate(sorted(cards))
    ]
    assert all(phone_normalize(phone) == phone for _card, phone, _email in people)
    with transaction.atomic():
        members = Member.objects.bulk_create(
            [
                Member(
                    card_number=card,
                    referral_code=code,
                    full_name=f"Bench Member {n}",
                    phone=phone,
                    email=email,
                    enrolled_via=Member.Channel.IMPORT,
                )
                for n, ((card, phone, email), code) in enumerate(
                    zip(people, sorted(codes), strict=True)
                )
            ],
            batch_size=2000,
        )
        PointAccount.objects.bulk_create([PointAccount(member=m) for m in members], batch_size=2000)
    return people


def member_forms(card: str, phone: str, email: str) -> list[str]:
    national = "0" + phone[3:]  # +84912345678 -> 0912345678
    return [
        card,
        " ".join(card[i : i + 4] for i in range(0, len(card), 4)),
        f"{national[:4]} {national[4:7]} {national[7:]}",
        phone,
        phone[1:],  # 84912345678
        email.upper(),
    ]


def new_person(k: int) -> str:
    """The ``k``-th person who is no member yet, written as they would be: a phone in one
    of three forms, or an email in capitals (``+8491...``: seeded members are ``+8490...``)."""
    if k % 2:
        return f"NEW{k}@BENCH.EXAMPLE"
    national = f"091{k:07d}"
    return [f"{national[:4]} {national[4:7]} {national[7:]}", f"+84{national[1:]}", national][
        k // 2 % 3
    ]


def new_person_again(k: int, rng: random.Random) -> str:
    """The same person as ``new_person(k)``, written another way."""
    if k % 2:
        return f"new{k}@bench.example"
    national = f"091{k:07d}"
    return rng.choice([f"84{national[1:]}", f"{national[:4]}.{national[4:7]}.{national[7:]}"])


def write_csv(
    path: Path,
    rows: int,
    people: list[tuple[str, str, str]],
    *,
    create_share: float = 0.0,
    first_new: int = 0,
    seed: int = SEED,
) -> int:
    """Write the file; returns how many of its people are no member yet."""
    rng = random.Random(seed)
    forms = [member_forms(*person) for person in people]
    now = datetime.now(UTC) - timedelta(hours=1)
    span = 540 * 24 * 3600  # 18 months: some points pending, most available, some expired
    new = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["external_id", "member", "occurred_at", "amount", "till"])
        for i in range(rows):
            at = now - timedelta(seconds=rng.randrange(span))
            style = i % 4
            if style == 0:
                when = at.astimezone(LOCAL).isoformat(timespec="seconds")
            elif style == 1:
                when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif style == 2:
                when = at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
            else:
                when = at.astimezone(LOCAL).strftime("%Y-%m-%d")  # local midnight
            amount = rng.randrange(5, 3000) * 1000
            amount_text = f"{amount}.50" if i % 50 == 0 else str(amount)
            if create_share and rng.random() < create_share:
                member = new_person(first_new + new)
                new += 1
            elif create_share and new and rng.random() < 0.2:
                member = new_person_again(first_new + rng.randrange(new), rng)
            else:
                member = rng.choice(forms[rng.randrange(len(forms))])
            writer.writerow([f"B-{i:08d}", member, when, amount_text, rng.randrange(1, 9)])
    return new


def run_child(path: Path, store: str, *, trace: bool, create: bool) -> tuple[dict, str]:
    command = [sys.executable, __file__, "--child", "--file", str(path), "--store", store]
    if trace:
        command.append("--tracemalloc")
    if create:
        command.append("--create-members")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"import into {store} failed:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_wall"] = wall
    figures["load"] = (load_before, os.getloadavg()[0])
    phases = [line.split(" INFO pos.services.imports ", 1)[-1] for line in done.stderr.splitlines()]
    return figures, "\n".join(p for p in phases if p.startswith("import "))


def mb(kb: int | None) -> str:
    return "—" if kb is None else f"{kb / 1024:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument(
        "--create-share",
        type=float,
        default=0.0,
        help="Share of the rows naming a phone or email that is no member yet, imported "
        "with --create-members (0.33: a third).",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--create-members", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not 0 <= args.create_share < 1:
        sys.exit("--create-share is a share of the rows: at least 0, below 1.")

    django_env()
    from django.core.management import call_command
    from django.db import connection

    from members.models import Member, Purchase
    from members.selectors import ledger_discrepancies

    call_command("migrate", verbosity=0)
    if Member.objects.exists() or Purchase.objects.exists():
        sys.exit("The database already holds members: give the benchmark an empty scratch one.")
    create = args.create_share > 0
    started = time.perf_counter()
    people = seed_members(args.members)
    seeded = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        path = Path(tmp) / "purchases.csv"
        started = time.perf_counter()
        new = write_csv(path, args.rows, people, create_share=args.create_share)
        generated = time.perf_counter() - started
        size = path.stat().st_size
        print(
            f"{args.members} members in {seeded:.1f} s; {args.rows} rows ({new} naming new "
            f"people), {size / 1e6:.0f} MB written in {generated:.1f} s",
            flush=True,
        )
        traced_path = path
        if create:  # run 2 creates members too: other new people, same shape
            traced_path = Path(tmp) / "purchases-2.csv"
            write_csv(
                traced_path,
                args.rows,
                people,
                create_share=args.create_share,
                first_new=5_000_000,
                seed=SEED + 1,
            )
        first, phases = run_child(path, "BENCH1", trace=False, create=create)
        print(
            f"import: {first['seconds']:.1f} s, {first['members_created']} members created, "
            f"maxrss {mb(first['maxrss_kb'])}",
            flush=True,
        )
        traced, _ = run_child(traced_path, "BENCH2", trace=True, create=create)
        print(f"traced: peak {traced['tracemalloc_peak'] / 2**20:.1f} MiB", flush=True)
        again, _ = run_child(path, "BENCH1", trace=False, create=create)
        print(f"re-run: {again['seconds']:.1f} s", flush=True)
    bad = ledger_discrepancies()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    section = report_section(args, size, seeded, generated, first, traced, again, phases, bad, pg)
    write_report(section, mode="create" if create else "existing")
    print(f"report: {REPORT.relative_to(ROOT)}")
    if bad:
        sys.exit(f"verify_ledger: {len(bad)} accounts out of balance")


def command_line(args) -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    shown = url._replace(netloc=url.hostname + (f":{url.port}" if url.port else ""))
    user = f"{url.username}@" if url.username else ""
    database = shown.geturl().replace("://", f"://{user}", 1)
    command = (
        f"DATABASE_URL={database} .venv/bin/python bench/import_transactions/run.py "
        f"--rows {args.rows} --members {args.members}"
    )
    if args.create_share:
        command += f" --create-share {args.create_share:g}"
    return command


SECTIONS = {
    "existing": "Every row names a member",
    "create": "A share of the rows creates members (`--create-members`)",
}


def report_section(args, size, seeded, generated, first, traced, again, phases, bad, pg) -> str:
    rows = first["rows"]
    create = args.create_share > 0
    if create:
        people = (
            f"{args.create_share:.0%} of the rows name a phone or email that is no member yet "
            "(phone in three forms, email in capitals), each a new person; a fifth of the "
            "other rows name one of them again, written another way; the rest name the "
            "seeded members"
        )
        second = "a second file of the same shape (other new people), store BENCH2"
    else:
        people = "member as card, spaced card, phone in three forms or upper-case email"
        second = "same file, store BENCH2"
    created = (
        f", created {first['members_created']:,} members" if first.get("members_created") else ""
    )
    traced_created = (
        f" (creating {traced['members_created']:,} members)"
        if traced.get("members_created")
        else ""
    )
    return f"""## {SECTIONS["create" if create else "existing"]}

Command: `{command_line(args)}`
Machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg} (local).
Measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. DEBUG off.

Setup (not measured): {args.members:,} members bulk-inserted in {seeded:.1f} s; a CSV of
{rows:,} rows ({size / 1e6:,.0f} MB; {people}; times with offset, UTC, naive and bare dates
over 18 months) written in {generated:.1f} s. Each import runs in its own process
(`transactions_import`, the service behind the command{", with create_members" if create else ""}).

| run | wall time | rows/s | peak RSS (ru_maxrss) | RSS before import | tracemalloc peak |
|---|---|---|---|---|---|
| 1. {rows:,} new rows, store BENCH1 | {first["seconds"]:.1f} s | {rows / first["seconds"]:,.0f} | {mb(first["maxrss_kb"])} | {mb(first["rss_before_kb"])} | not traced |
| 2. {second}, tracemalloc on | {traced["seconds"]:.1f} s (traced) | — | {mb(traced["maxrss_kb"])} | {mb(traced["rss_before_kb"])} | {traced["tracemalloc_peak"] / 2**20:.1f} MiB |
| 3. run 1 again: all already imported | {again["seconds"]:.1f} s | {rows / again["seconds"]:,.0f} | {mb(again["maxrss_kb"])} | {mb(again["rss_before_kb"])} | not traced |

Run 1 imported {first["imported"]:,} purchases{created} and credited {first["points"]:,} points
({first["pending"]:,} pending); the daily jobs then matured {first["matured"]:,} and expired
{first["expired"]:,} lots. Run 2{traced_created}: {traced["imported"]:,} imported. Run 3:
{again["imported"]:,} imported, {again["already_imported"]:,} already imported,
{again.get("members_created", 0):,} members created. verify_ledger after the three runs:
{"clean" if not bad else f"{len(bad)} accounts out of balance"}.

Load average (1 min) before/after each run, to judge how busy the machine was (the figures
are wall times on a shared 2-core machine): run 1 {first["load"][0]:.1f}/{first["load"][1]:.1f},
run 2 {traced["load"][0]:.1f}/{traced["load"][1]:.1f}, run 3 {again["load"][0]:.1f}/{again["load"][1]:.1f}.

Phases of run 1 (from the service's log; at the commit PostgreSQL checks the deferred
foreign keys of every row inserted):

```
{phases}
```
"""


HEADER = """# import_transactions benchmark

`bench/import_transactions/run.py` (see `bench/README.md`). Each mode writes its own section
below; running one mode again replaces its section and keeps the other.
"""


def write_report(section: str, *, mode: str) -> None:
    """Replace this mode's section of the report (``<!-- mode: NAME -->`` to the next such
    marker or the end), keeping the others, and any other section as it is."""
    sections: dict[str, str] = {}
    if REPORT.exists():
        text = REPORT.read_text()
        for part in text.split("<!-- mode: ")[1:]:
            name, _, body = part.partition(" -->\n")
            sections[name] = body.rstrip() + "\n"
    sections[mode] = section
    # The modes in their order, then any other section (figures kept for comparison).
    order = [name for name in SECTIONS if name in sections]
    order += [name for name in sections if name not in SECTIONS]
    body = "\n".join(f"<!-- mode: {name} -->\n{sections[name]}" for name in order)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(f"{HEADER}\n{body}")


if __name__ == "__main__":
    main()
