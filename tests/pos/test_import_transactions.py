"""``import_transactions``: historical purchases from a CSV file, all or nothing per file,
with points earned the way the POS earns them (``pos/services/imports.py``)."""

from __future__ import annotations

import csv
import random
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone, translation

from members.identifiers import (
    REFERRAL_ALPHABET,
    REFERRAL_CODE_LENGTH,
    card_number_generate,
    card_number_is_valid,
)
from members.models import (
    ConsentEvent,
    Member,
    PointAccount,
    PointEntry,
    PointLot,
    Purchase,
    PurchaseReturn,
)
from members.selectors import ledger_discrepancies, program_get
from members.services import member_block
from members.services import points as ledger
from pos.services.imports import transactions_import
from tests.factories import MemberFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
# Every test runs on 15 June 2025, 10:00 in Ho Chi Minh City.
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=HCM)
HEADER = ["external_id", "member", "occurred_at", "amount"]


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def write_csv(tmp_path, rows, *, header=HEADER, name="history.csv", encoding="utf-8"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(path, *args, store="HCM01") -> str:
    out = StringIO()
    call_command("import_transactions", str(path), "--store", store, *args, stdout=out)
    return out.getvalue()


def run_rejected(path, *args) -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_transactions", str(path), "--store", "HCM01", *args, stdout=out)
    return out.getvalue(), str(excinfo.value)


def read_report(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def account_of(member) -> PointAccount:
    return PointAccount.objects.get(pk=member.pk)


def ledger_state():
    return (
        sorted(
            PointAccount.objects.values_list(
                "member_id", "available", "pending", "lifetime_earned", "lifetime_expired"
            )
        ),
        sorted(PointLot.objects.values_list("id", "remaining", "status")),
        PointEntry.objects.count(),
        Purchase.objects.count(),
    )


def nothing_written():
    assert Purchase.objects.count() == 0
    assert PointLot.objects.count() == 0
    assert PointEntry.objects.count() == 0
    assert set(PointAccount.objects.values_list("available", "pending")) <= {(0, 0)}


# ------------------------------------------------------------------------ a clean file


def test_clean_file_imports_purchases_with_points_pending_or_available_by_date(
    tmp_path, store, member, other_member
):
    path = write_csv(
        tmp_path,
        [
            # yesterday: inside the 7-day return window, pending until 21 June
            ["R-1", member.card_number, "2025-06-14T19:30:00+07:00", "125000"],
            # two weeks ago: the window has passed, available at once
            ["R-2", "0912 345 678", "2025-06-01", "250000.50"],
            # exactly 7 days ago (naive = local): the job of today would have matured it
            ["R-3", "mai@example.com", "2025-06-08 09:00", "99999"],
            # 18:00 UTC on 9 June is 01:00 on 10 June in Vietnam
            ["R-4", "0987 654 321", "2025-06-09T18:00:00Z", "20000"],
            # below one step of the earning rate: a purchase, no points
            ["R-5", "0987 654 321", "2025-06-02", "9999"],
        ],
    )

    out = run(path)

    assert "imported 5 purchases, 0 already imported, 0 members created" in out
    assert "48 points credited (14 pending)" in out
    purchases = {p.external_id: p for p in Purchase.objects.all()}
    assert set(purchases) == {"R-1", "R-2", "R-3", "R-4", "R-5"}
    assert {p.source for p in purchases.values()} == {"import"}
    assert {p.store_id for p in purchases.values()} == {store.pk}
    assert purchases["R-2"].total_amount == purchases["R-2"].amount_due == Decimal("250000.50")
    assert purchases["R-3"].occurred_at == datetime(2025, 6, 8, 9, 0, tzinfo=HCM)
    assert purchases["R-5"].occurred_at == datetime(2025, 6, 2, 0, 0, tzinfo=HCM)
    assert {k: p.points_earned for k, p in purchases.items()} == {
        "R-1": 12,
        "R-2": 25,
        "R-3": 9,
        "R-4": 2,
        "R-5": 0,
    }
    lots = {lot.purchase.external_id: lot for lot in PointLot.objects.select_related("purchase")}
    assert set(lots) == {"R-1", "R-2", "R-3", "R-4"}
    assert (lots["R-1"].status, lots["R-1"].matures_on) == ("pending", date(2025, 6, 21))
    assert (lots["R-2"].status, lots["R-2"].matures_on) == ("available", None)
    assert lots["R-2"].expires_on == date(2026, 6, 30)
    assert lots["R-3"].status == "available"
    assert (lots["R-4"].status, lots["R-4"].earned_on) == ("pending", date(2025, 6, 10))
    assert lots["R-4"].matures_on == date(2025, 6, 17)
    entries = PointEntry.objects.filter(kind="earn")
    assert entries.count() == 4
    assert {(e.purchase.external_id, e.available_delta, e.pending_delta) for e in entries} == {
        ("R-1", 0, 12),
        ("R-2", 25, 0),
        ("R-3", 9, 0),
        ("R-4", 0, 2),
    }
    mine, theirs = account_of(member), account_of(other_member)
    assert (mine.available, mine.pending, mine.lifetime_earned) == (34, 12, 46)
    assert (theirs.available, theirs.pending, theirs.lifetime_earned) == (0, 2, 2)
    check = StringIO()
    call_command("verify_ledger", stdout=check)
    assert "ledger ok" in check.getvalue()
    assert not (tmp_path / "history.csv.rejected.csv").exists()


@pytest.mark.parametrize(
    "written",
    [
        lambda m: m.card_number,
        lambda m: m.card_number_display,
        lambda m: "0912 345 678",
        lambda m: "+84912345678",
        lambda m: "84912345678",
        lambda m: "0912.345.678",
        lambda m: "+84 912 345 678",
        lambda m: "MAI@Example.COM",
        lambda m: "  mai@example.com ",
    ],
    ids=[
        "card",
        "card-spaced",
        "phone-national",
        "phone-e164",
        "phone-84",
        "phone-dots",
        "phone-e164-spaced",
        "email-case",
        "email-padded",
    ],
)
def test_member_given_as_card_phone_or_email(tmp_path, store, member, other_member, written):
    path = write_csv(tmp_path, [["R-1", written(member), "2025-06-01T12:00:00+07:00", "100000"]])
    result = transactions_import(path=path, store=store)
    assert result.ok, result.first_rejections
    assert Purchase.objects.get().member == member
    assert account_of(member).available == 10


def test_a_blocked_member_still_gets_their_history(tmp_path, store, member, program_admin):
    member_block(member=member, reason="fraud check", acting_user=program_admin)
    path = write_csv(tmp_path, [["R-1", member.card_number, "2025-06-01", "100000"]])
    run(path)
    assert Purchase.objects.get().member == member
    assert account_of(member).available == 10


def test_bom_crlf_reordered_and_extra_columns_are_accepted(tmp_path, store, member):
    path = tmp_path / "export.csv"
    text = (
        "note,Amount,member,External_ID,occurred_at,till\r\n"
        '"paid cash, no bag",125000,0912 345 678,R-1,2025-06-01T10:00:00+07:00,3\r\n'
        '"",50000,mai@example.com,R-2,2025-06-02,\r\n'
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    out = run(path)
    assert "imported 2 purchases" in out
    assert sorted(Purchase.objects.values_list("external_id", "total_amount")) == [
        ("R-1", Decimal("125000")),
        ("R-2", Decimal("50000")),
    ]


# ------------------------------------------------------------------------- rejections


def test_one_bad_row_anywhere_rejects_the_whole_file_and_the_report_names_it(
    tmp_path, store, member
):
    path = tmp_path / "history.csv"
    path.write_text(
        "external_id,member,occurred_at,amount\n"
        f"R-1,{member.card_number},2025-06-01,100000\n"
        "\n"  # a blank line still counts as a line of the file
        f"R-2,{member.card_number},2025-06-02,12.345\n"
        f"R-3,{member.card_number},2025-06-03,100000\n",
        encoding="utf-8",
    )

    out, error = run_rejected(path)

    nothing_written()
    assert "1 of 3 rows rejected; nothing imported." in out
    assert "invalid_amount: 1" in out
    assert "line 4: invalid_amount:" in out
    report = tmp_path / "history.csv.rejected.csv"
    assert str(report) in error
    rows = read_report(report)
    assert [(r["line"], r["reason"], r["external_id"], r["amount"]) for r in rows] == [
        ("4", "invalid_amount", "R-2", "12.345")
    ]
    assert rows[0]["message"]
    assert rows[0]["member"] == member.card_number


def _bad_card(member) -> str:
    last = (int(member.card_number[-1]) + 1) % 10
    return member.card_number[:-1] + str(last)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (lambda m: ["", m.card_number, "2025-06-01", "1000"], "invalid_external_id"),
        (lambda m: ["R" * 65, m.card_number, "2025-06-01", "1000"], "invalid_external_id"),
        (lambda m: ["R-9", "", "2025-06-01", "1000"], "invalid_member"),
        (lambda m: ["R-9", "hello", "2025-06-01", "1000"], "invalid_member"),
        (lambda m: ["R-9", _bad_card(m), "2025-06-01", "1000"], "invalid_member"),
        (lambda m: ["R-9", "0100 000 000", "2025-06-01", "1000"], "invalid_member"),
        (lambda m: ["R-9", "mai@", "2025-06-01", "1000"], "invalid_member"),
        (lambda m: ["R-9", m.card_number, "01/06/2025", "1000"], "invalid_occurred_at"),
        (lambda m: ["R-9", m.card_number, "2025-06-31", "1000"], "invalid_occurred_at"),
        (lambda m: ["R-9", m.card_number, "", "1000"], "invalid_occurred_at"),
        (lambda m: ["R-9", m.card_number, "2025-06-16", "1000"], "occurred_at_in_future"),
        (lambda m: ["R-9", m.card_number, "2025-06-15T11:00", "1000"], "occurred_at_in_future"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", "-1000"], "invalid_amount"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", "1000.001"], "invalid_amount"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", "125.000"], "invalid_amount"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", "1e5"], "invalid_amount"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", "1,000"], "invalid_amount"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", ""], "invalid_amount"),
        (lambda m: ["R-9", m.card_number, "2025-06-01", "1" * 15], "invalid_amount"),
        (lambda m: ["R-9", card_number_generate(), "2025-06-01", "1000"], "unknown_member"),
        (lambda m: ["R-9", "0987 000 111", "2025-06-01", "1000"], "unknown_member"),
        (lambda m: ["R-9", "nobody@example.com", "2025-06-01", "1000"], "unknown_member"),
    ],
)
def test_each_reason_to_reject_a_row(tmp_path, store, member, row, reason):
    path = write_csv(
        tmp_path,
        [["R-1", member.card_number, "2025-06-01", "100000"], row(member)],
    )
    result = transactions_import(path=path, store=store)
    assert result.rejected == {reason: 1}
    [rejection] = result.first_rejections
    assert (rejection.line, rejection.reason) == (3, reason)
    assert rejection.message
    nothing_written()
    [reported] = read_report(result.report_path)
    assert (reported["line"], reported["reason"]) == ("3", reason)


def test_a_row_with_several_bad_fields_is_reported_once_with_every_message(tmp_path, store, member):
    path = write_csv(tmp_path, [["", "hello", "yesterday", "abc"]])
    result = transactions_import(path=path, store=store)
    assert result.rejected == {"invalid_external_id": 1}
    [reported] = read_report(result.report_path)
    assert "hello" in reported["message"]
    assert "yesterday" in reported["message"]
    assert "abc" in reported["message"]


def test_duplicate_external_id_within_the_file_is_rejected(tmp_path, store, member):
    path = write_csv(
        tmp_path,
        [
            ["R-1", member.card_number, "2025-06-01", "100000"],
            ["R-2", member.card_number, "2025-06-02", "100000"],
            ["R-1", member.card_number, "2025-06-01", "100000"],
            ["R-1", member.card_number, "2025-06-03", "50000"],
        ],
    )
    result = transactions_import(path=path, store=store)
    assert result.rejected == {"duplicate_external_id": 2}
    assert [(r.line, r.reason) for r in result.first_rejections] == [
        (4, "duplicate_external_id"),
        (5, "duplicate_external_id"),
    ]
    assert "2" in result.first_rejections[0].message
    nothing_written()


def test_counts_by_reason_first_twenty_printed_and_every_row_in_the_report(tmp_path, store, member):
    rows = [["R-0", member.card_number, "2025-06-01", "100000"]]
    rows += [[f"R-{i}", member.card_number, "2025-06-01", "-5"] for i in range(1, 21)]
    rows += [[f"R-{i}", "nobody@example.com", "2025-06-01", "5"] for i in range(21, 26)]
    path = write_csv(tmp_path, rows)
    report = tmp_path / "out" / "rejects.csv"
    report.parent.mkdir()

    out, error = run_rejected(path, "--report", str(report))

    assert "25 of 26 rows rejected" in out
    assert "invalid_amount: 20" in out
    assert "unknown_member: 5" in out
    assert "First 20:" in out
    assert out.count("  line ") == 20
    assert str(report) in error
    rows = read_report(report)
    assert len(rows) == 25
    assert [int(r["line"]) for r in rows] == list(range(3, 28))
    assert not (tmp_path / "history.csv.rejected.csv").exists()


def test_a_file_without_the_required_columns_is_refused_without_a_report(tmp_path, store):
    path = write_csv(tmp_path, [["R-1", "x", "2025-06-01"]], header=HEADER[:3])
    with pytest.raises(CommandError, match="amount"):
        run(path)
    assert not (tmp_path / "history.csv.rejected.csv").exists()


@pytest.mark.parametrize("encoding", ["cp1258", "utf-16", "utf-16-le"])
def test_a_file_that_is_not_utf8_is_refused(tmp_path, store, member, encoding):
    path = write_csv(
        tmp_path,
        [["R-1", member.card_number, "2025-06-01", "100000"], ["Hóa-đơn", "x", "y", "z"]],
        encoding=encoding,
    )
    with pytest.raises(CommandError, match="UTF-8"):
        run(path)
    nothing_written()


def test_tabs_backslashes_and_line_breaks_in_fields_survive_staging(tmp_path, store, member):
    path = write_csv(
        tmp_path,
        [
            ["R\\1\tA", member.card_number, "2025-06-01", "100000"],
            ["R-2", "two\nlines \\ and\ta tab", "2025-06-01", "100000"],
            ["R-3", "hello", "2025-06-01", "100000"],
        ],
    )
    result = transactions_import(path=path, store=store)
    # R-2's member spans lines 3 and 4 of the file, so R-3 starts on line 5.
    assert [(r.line, r.reason) for r in result.first_rejections] == [
        (3, "invalid_member"),
        (5, "invalid_member"),
    ]
    assert read_report(result.report_path)[0]["member"] == "two\nlines \\ and\ta tab"

    result = transactions_import(
        path=write_csv(tmp_path, [["R\\1\tA", member.card_number, "2025-06-01", "100000"]]),
        store=store,
    )
    assert result.ok
    assert Purchase.objects.get().external_id == "R\\1\tA"


def test_an_unknown_store_is_refused(tmp_path, store, member):
    path = write_csv(tmp_path, [["R-1", member.card_number, "2025-06-01", "100000"]])
    with pytest.raises(CommandError, match="NOPE"):
        run(path, store="NOPE")


# -------------------------------------------------------------------- running it again


def test_running_the_same_file_again_imports_nothing_more_and_succeeds(
    tmp_path, store, member, other_member
):
    rows = [
        ["R-1", member.card_number, "2025-06-14", "125000"],
        ["R-2", "0987 654 321", "2025-06-01", "250000"],
        ["R-3", "mai@example.com", "2024-01-10", "99999"],
    ]
    path = write_csv(tmp_path, rows)
    run(path)
    before = ledger_state()

    out = run(path)

    assert "imported 0 purchases, 3 already imported" in out
    assert ledger_state() == before
    assert not ledger_discrepancies()

    grown = write_csv(tmp_path, [*rows, ["R-4", member.card_number, "2025-06-02", "30000"]])
    out = run(grown)
    assert "imported 1 purchases, 3 already imported" in out
    assert Purchase.objects.count() == 4
    assert not ledger_discrepancies()


@pytest.mark.parametrize(
    "changed",
    [
        ["R-2", "0987 654 321", "2025-06-01", "250001"],
        ["R-2", "0912 345 678", "2025-06-01", "250000"],
    ],
    ids=["another-amount", "another-member"],
)
def test_a_rerun_that_changes_a_purchase_is_rejected(
    tmp_path, store, member, other_member, changed
):
    first = [
        ["R-1", member.card_number, "2025-06-14", "125000"],
        ["R-2", "0987 654 321", "2025-06-01", "250000"],
    ]
    run(write_csv(tmp_path, first))
    before = ledger_state()

    out, _error = run_rejected(write_csv(tmp_path, [first[0], changed], name="again.csv"))

    assert "external_id_conflict: 1" in out
    [reported] = read_report(tmp_path / "again.csv.rejected.csv")
    assert (reported["line"], reported["reason"]) == ("3", "external_id_conflict")
    assert ledger_state() == before


def test_receipts_of_the_pos_count_as_imported_only_at_their_own_store(
    tmp_path, store, other_store, member
):
    PurchaseFactory(
        store=store,
        member=member,
        external_id="R-1",
        occurred_at=datetime(2025, 6, 1, 10, 0, tzinfo=HCM),
        total_amount=Decimal("100000"),
    )
    PurchaseFactory(store=other_store, member=member, external_id="R-2")
    path = write_csv(
        tmp_path,
        [
            ["R-1", member.card_number, "2025-06-01", "100000.00"],
            ["R-2", member.card_number, "2025-06-01", "100000"],
        ],
    )
    result = transactions_import(path=path, store=store)
    assert (result.imported, result.already_imported) == (1, 1)
    assert Purchase.objects.filter(store=store, external_id="R-2", source="import").exists()


def test_a_receipt_recorded_while_the_import_runs_fails_the_import_cleanly(
    tmp_path, store, member, monkeypatch
):
    """The POS (or another import) records R-2 between the checks and the insert: the unique
    receipt constraint stops the import, nothing is written, and the message says rerun."""
    clash = PurchaseFactory(store=store, member=member, external_id="R-2")
    monkeypatch.setattr("pos.services.imports_sql.mark_existing", lambda store_id: None)
    path = write_csv(
        tmp_path,
        [
            ["R-1", member.card_number, "2025-06-01", "100000"],
            ["R-2", member.card_number, "2025-06-02", "100000"],
        ],
    )
    with translation.override("en"), pytest.raises(CommandError, match="again"):
        run(path)
    assert list(Purchase.objects.all()) == [clash]
    assert PointLot.objects.count() == 0


# ------------------------------------------------------------------ creating members


def test_create_members_enrols_each_unknown_phone_or_email_once_by_its_full_name(
    tmp_path, store, member
):
    header = [*HEADER, "full_name"]
    path = write_csv(
        tmp_path,
        [
            ["R-1", "0903 555 666", "2025-06-03", "100000", "Phạm Văn Cường"],
            ["R-2", "+84903555666", "2025-05-20T08:00:00+07:00", "200000", ""],
            ["R-3", "Lan.Tran@Example.com", "2025-06-01", "50000", "Trần  Thị Lan"],
            ["R-4", member.card_number, "2025-06-01", "100000", ""],
        ],
        header=header,
    )

    out = run(path, "--create-members")

    assert "imported 4 purchases, 0 already imported, 2 members created" in out
    cuong = Member.objects.get(phone="+84903555666")
    assert cuong.full_name == "Phạm Văn Cường"
    assert cuong.enrolled_via == Member.Channel.IMPORT
    assert cuong.enrolled_at_store == store
    assert cuong.joined_at == datetime(2025, 5, 20, 8, 0, tzinfo=HCM)
    assert cuong.card_number and cuong.referral_code
    lan = Member.objects.get(email="lan.tran@example.com")
    assert lan.full_name == "Trần Thị Lan"
    assert sorted(cuong.purchases.values_list("external_id", flat=True)) == ["R-1", "R-2"]
    assert account_of(cuong).available == 30
    assert account_of(lan).available == 5
    assert not ledger_discrepancies()


def test_create_members_with_the_four_columns_alone_enrols_each_new_phone_and_email(
    tmp_path, store, member
):
    """The contract's four columns are a valid file: the new members' profiles are
    completed later."""
    path = write_csv(
        tmp_path,
        [
            ["R-1", "0903 555 666", "2025-06-03", "100000"],
            ["R-2", "Lan.Tran@Example.com", "2025-06-01T09:30:00+07:00", "50000"],
            ["R-3", member.card_number, "2025-06-01", "100000"],
        ],
    )

    out = run(path, "--create-members")

    assert "imported 3 purchases, 0 already imported, 2 members created" in out
    by_phone = Member.objects.get(phone="+84903555666")
    by_email = Member.objects.get(email="lan.tran@example.com")
    assert (by_phone.full_name, by_phone.email) == ("", None)
    assert (by_email.full_name, by_email.phone) == ("", None)
    assert by_email.joined_at == datetime(2025, 6, 1, 9, 30, tzinfo=HCM)
    assert str(by_phone) == by_phone.card_number_display == by_phone.display_name
    assert account_of(by_phone).available == 10
    assert account_of(by_email).available == 5
    assert list(by_phone.purchases.values_list("external_id", flat=True)) == ["R-1"]
    assert not ledger_discrepancies()


def test_a_phone_or_email_repeated_in_any_form_becomes_one_member(tmp_path, store):
    path = write_csv(
        tmp_path,
        [
            ["R-1", "0903 555 666", "2025-06-03", "100000"],
            ["R-2", "+84903555666", "2025-06-01", "200000"],
            ["R-3", "84903555666", "2025-06-02", "50000"],
            ["R-4", "0903.555.666", "2025-06-04", "10000"],
            ["R-5", "an@example.com", "2025-06-04", "10000"],
            ["R-6", " AN@Example.COM", "2025-06-05", "20000"],
        ],
    )
    result = transactions_import(path=path, store=store, create_members=True)
    assert result.ok, result.first_rejections
    assert result.members_created == 2
    assert Member.objects.count() == 2
    phone = Member.objects.get(phone="+84903555666")
    assert phone.purchases.count() == 4
    assert phone.joined_at == datetime(2025, 6, 1, tzinfo=HCM)
    assert account_of(phone).available == 36
    assert Member.objects.get(email="an@example.com").purchases.count() == 2


def test_created_members_are_what_enrolling_one_by_one_makes(tmp_path, store, member):
    """Card numbers with a valid check digit and referral codes, unique against every
    member; a point account; the contacts the referral checks remember; no consent, no
    tier row, no referral and no bonus (the enrolment signal's work has nothing to do)."""
    from promotions.contacts import email_normalize
    from promotions.models import KnownContact, Referral
    from tiers.models import MemberTier

    rows = [[f"R-{n}", f"0903 555 {n:03d}", "2025-06-03", "100000"] for n in range(40)]
    rows += [[f"E-{n}", f"An.Le+{n}@GoogleMail.com", "2025-06-02", "100000"] for n in range(20)]
    result = transactions_import(path=write_csv(tmp_path, rows), store=store, create_members=True)

    assert result.members_created == 60
    created = Member.objects.exclude(pk=member.pk)
    assert created.count() == 60
    cards = [m.card_number for m in Member.objects.all()]
    codes = [m.referral_code for m in Member.objects.all()]
    assert len(set(cards)) == len(cards) == 61
    assert len(set(codes)) == len(codes) == 61
    assert all(card_number_is_valid(card) and len(card) == 12 for card in cards)
    assert all(
        len(code) == REFERRAL_CODE_LENGTH and set(code) <= set(REFERRAL_ALPHABET) for code in codes
    )
    assert set(created.values_list("enrolled_via", "enrolled_at_store", "status", "language")) == {
        (Member.Channel.IMPORT, store.pk, Member.Status.ACTIVE, "vi")
    }
    assert not created.filter(email_consent=True).exists()
    assert not created.filter(sms_consent=True).exists()
    assert not created.exclude(user=None).exists()
    assert ConsentEvent.objects.count() == 0
    assert PointAccount.objects.filter(member__in=created).count() == 60
    contacts = set(KnownContact.objects.values_list("kind", "value", "member_id"))
    assert contacts >= {("phone", m.phone, m.pk) for m in created.exclude(phone=None)}
    assert contacts >= {
        ("email", email_normalize(m.email), m.pk) for m in created.exclude(email=None)
    }
    # One of them (an.le+0@googlemail.com) is an@gmail.com to the referral checks.
    assert ("email", "anle@gmail.com") in {(kind, value) for kind, value, _id in contacts}
    assert not MemberTier.objects.exists()
    assert not Referral.objects.exists()
    assert PointEntry.objects.exclude(kind__in=["earn", "mature", "expire"]).count() == 0
    assert not ledger_discrepancies()


def test_a_card_number_or_code_already_taken_is_drawn_again(
    tmp_path, store, member, other_member, monkeypatch
):
    """A drawn card number or referral code that is an existing member's, another new
    member's, or drawn twice in one draw, is drawn again: every member keeps unique ones."""
    from members import identifiers
    from pos.services import imports

    c1, c2, c3, c4, c5, c6 = (card_number_generate() for _ in range(6))
    draws = {
        "cards": [
            [member.card_number, c1, c2, c2, c3],  # an existing card; c2 twice in the draw
            [c3, c4, c5, c6],  # c3 was just given to the fifth new member
        ],
        "codes": [
            ["R1R1R1R1", other_member.referral_code, "R2R2R2R2", "R3R3R3R3", "R4R4R4R4"],
            ["R5R5R5R5", "R4R4R4R4", "R6R6R6R6", "R7R7R7R7"],
        ],
    }
    asked = []

    def draw(what, real):
        def drawn(count):
            asked.append((what, count))
            planned = draws[what]
            return planned.pop(0) if planned else real(count)

        return drawn

    monkeypatch.setattr(
        imports, "card_numbers_generate", draw("cards", identifiers.card_numbers_generate)
    )
    monkeypatch.setattr(
        imports, "referral_codes_generate", draw("codes", identifiers.referral_codes_generate)
    )
    rows = [[f"R-{n}", f"0903 555 {n:03d}", "2025-06-03", "100000"] for n in range(5)]
    result = transactions_import(path=write_csv(tmp_path, rows), store=store, create_members=True)

    assert result.members_created == 5
    # 5 drawn; 4 again (two clash with members, two share a card); 2 again (seq 1 and 2
    # clash with what seq 5 was given).
    assert [count for what, count in asked if what == "cards"] == [5, 4, 2]
    given = dict(
        Member.objects.exclude(pk__in=[member.pk, other_member.pk]).values_list(
            "phone", "card_number"
        )
    )
    assert given["+84903555004"] == c3
    assert {given["+84903555002"], given["+84903555003"]} == {c5, c6}
    cards = list(Member.objects.values_list("card_number", flat=True))
    codes = list(Member.objects.values_list("referral_code", flat=True))
    assert len(set(cards)) == len(set(codes)) == 7
    assert all(card_number_is_valid(card) for card in cards)
    assert Member.objects.get(pk=member.pk).card_number == member.card_number


def test_created_members_are_found_at_the_till_by_phone_and_earn_on_later_purchases(
    client, tmp_path, store, store_key
):
    from tests.pos.helpers import PosClient

    path = write_csv(tmp_path, [["R-1", "0903 555 666", "2025-06-01", "100000"]])
    run(path, "--create-members")
    pos = PosClient(client, store_key[1])

    found = pos.lookup("0903555666")

    assert found.status_code == 200, found.content
    body = found.json()
    created = Member.objects.get(phone="+84903555666")
    assert body["card_number"] == created.card_number
    assert body["full_name"] == ""
    assert body["referral_code"] == created.referral_code
    assert body["points"] == {"available": 10, "pending": 0}
    sale = pos.purchase(
        {"external_id": "POS-1", "member": created.card_number, "total_amount": "250000"}
    )
    assert sale.status_code == 201, sale.content
    assert sale.json()["balance"] == {"available": 10, "pending": 25}
    assert pos.lookup(created.card_number).json()["points"] == {"available": 10, "pending": 25}
    assert not ledger_discrepancies()


def test_one_bad_row_creates_no_member_and_imports_nothing(tmp_path, store, member):
    path = write_csv(
        tmp_path,
        [
            ["R-1", "0903 555 666", "2025-06-03", "100000"],
            ["R-2", "new@example.com", "2025-06-03", "100000"],
            ["R-3", "0100 000 000", "2025-06-03", "100000"],
            ["R-4", card_number_generate(), "2025-06-03", "100000"],
        ],
    )
    with translation.override("en"):
        result = transactions_import(path=path, store=store, create_members=True)
    assert result.rejected == {"invalid_member": 1, "unknown_member": 1}
    assert [(r.line, r.reason) for r in result.first_rejections] == [
        (4, "invalid_member"),
        (5, "unknown_member"),
    ]
    assert result.first_rejections[0].message == "“0100 000 000” is not a valid phone number."
    assert result.members_created == 0
    assert list(Member.objects.all()) == [member]
    nothing_written()


def test_rerunning_a_file_that_created_members_changes_nothing(tmp_path, store, member):
    rows = [
        ["R-1", "0903 555 666", "2025-06-03", "100000"],
        ["R-2", "new@example.com", "2025-05-03", "100000"],
        ["R-3", "0903 555 666", "2024-01-03", "70000"],
        ["R-4", member.card_number, "2025-06-14", "100000"],
    ]
    path = write_csv(tmp_path, rows)
    first = transactions_import(path=path, store=store, create_members=True)
    assert (first.imported, first.members_created) == (4, 2)
    members = sorted(Member.objects.values_list("pk", "card_number", "referral_code", "joined_at"))
    before = ledger_state()

    again = transactions_import(path=path, store=store, create_members=True)

    assert (again.imported, again.already_imported, again.members_created) == (0, 4, 0)
    assert (
        sorted(Member.objects.values_list("pk", "card_number", "referral_code", "joined_at"))
        == members
    )
    assert ledger_state() == before
    assert not ledger_discrepancies()


def test_a_member_enrolled_while_the_import_runs_fails_it_cleanly(tmp_path, store, monkeypatch):
    """The till enrols 0903 555 666 between the checks and the members' insert: the unique
    phone stops the import, nothing is written, and the message says run it again."""
    from pos.services import imports_sql

    stage = imports_sql.new_members_stage

    def enrol_meanwhile():
        MemberFactory(phone="0903 555 666", full_name="Phạm Văn Cường")
        return stage()

    monkeypatch.setattr(imports_sql, "new_members_stage", enrol_meanwhile)
    path = write_csv(
        tmp_path,
        [
            ["R-1", "0903 555 666", "2025-06-03", "100000"],
            ["R-2", "new@example.com", "2025-06-03", "100000"],
        ],
    )
    with translation.override("en"), pytest.raises(CommandError, match="again"):
        run(path, "--create-members")
    assert Member.objects.count() == 0
    nothing_written()


def test_create_members_rejects_a_full_name_too_long_for_a_member(tmp_path, store, member):
    path = write_csv(
        tmp_path,
        [["R-1", "0903 555 666", "2025-06-03", "100000", "A" * 151]],
        header=[*HEADER, "full_name"],
    )
    result = transactions_import(path=path, store=store, create_members=True)
    assert result.rejected == {"invalid_full_name": 1}
    assert Member.objects.count() == 1


def test_without_create_members_an_unknown_phone_is_rejected_even_with_a_name(
    tmp_path, store, member
):
    path = write_csv(
        tmp_path,
        [["R-1", "0903 555 666", "2025-06-03", "100000", "Phạm Văn Cường"]],
        header=[*HEADER, "full_name"],
    )
    result = transactions_import(path=path, store=store)
    assert result.rejected == {"unknown_member": 1}
    assert Member.objects.count() == 1


# ----------------------------------------------------------------------------- points


def test_without_points_records_the_purchases_and_no_points(tmp_path, store, member):
    path = write_csv(
        tmp_path,
        [
            ["R-1", member.card_number, "2025-06-14", "125000"],
            ["R-2", member.card_number, "2024-01-01", "250000"],
        ],
    )
    out = run(path, "--without-points")
    assert "imported 2 purchases" in out
    assert "0 points credited" in out
    assert set(Purchase.objects.values_list("points_earned", flat=True)) == {0}
    assert PointLot.objects.count() == 0
    assert PointEntry.objects.count() == 0
    account = account_of(member)
    assert (account.available, account.pending, account.lifetime_earned) == (0, 0, 0)


def test_old_purchases_end_up_expired_as_the_daily_jobs_would_have_left_them(
    tmp_path, store, member
):
    path = write_csv(
        tmp_path,
        [
            # earned March 2024: expired at the end of March 2025
            ["R-1", member.card_number, "2024-03-10T15:00:00+07:00", "100000"],
            # earned June 2024: expires at the end of June 2025, still available
            ["R-2", member.card_number, "2024-06-20", "70000"],
        ],
    )

    out = run(path)

    assert "0 lots matured, 1 expired" in out
    old = PointLot.objects.get(purchase__external_id="R-1")
    assert (old.status, old.remaining, old.expires_on) == ("expired", 0, date(2025, 3, 31))
    recent = PointLot.objects.get(purchase__external_id="R-2")
    assert (recent.status, recent.remaining, recent.expires_on) == (
        "available",
        7,
        date(2025, 6, 30),
    )
    account = account_of(member)
    assert (account.available, account.lifetime_earned, account.lifetime_expired) == (7, 17, 10)
    assert PointEntry.objects.filter(kind="expire", available_delta=-10, lot=old).exists()
    assert not ledger_discrepancies()


def test_points_already_due_to_mature_mature_with_the_import(tmp_path, store, member):
    program = program_get()
    purchase = PurchaseFactory(
        store=store,
        member=member,
        occurred_at=datetime(2025, 6, 5, 12, 0, tzinfo=HCM),
        total_amount=Decimal("300000"),
        points_earned=30,
    )
    with transaction.atomic():
        ledger.earn_for_purchase_locked(
            ledger.account_lock(member.pk),
            purchase=purchase,
            points=30,
            program=program,
            today=date(2025, 6, 5),
        )
    path = write_csv(tmp_path, [["R-1", member.card_number, "2025-06-01", "100000"]])

    result = transactions_import(path=path, store=store)

    assert result.lots_matured == 1
    account = account_of(member)
    assert (account.available, account.pending) == (40, 0)
    assert not ledger_discrepancies()


def test_new_points_pay_a_debt_first_as_crediting_them_at_the_till_would(tmp_path, store, member):
    """A return took back 25 points the member had already spent: the balance is -25 until
    new available points pay it, oldest purchase first."""
    program = program_get()
    purchase = PurchaseFactory(
        store=store,
        member=member,
        occurred_at=datetime(2025, 4, 1, 12, 0, tzinfo=HCM),
        total_amount=Decimal("250000"),
        points_earned=25,
    )
    with transaction.atomic():
        account = ledger.account_lock(member.pk)
        ledger.earn_for_purchase_locked(
            account, purchase=purchase, points=25, program=program, today=timezone.localdate()
        )
        ledger.spend_locked(account, points=25)
        record = PurchaseReturn.objects.create(
            purchase=purchase, store=store, external_id="RET-1", amount=purchase.total_amount
        )
        ledger.reverse_for_return_locked(
            account, purchase=purchase, purchase_return=record, points=25
        )
    assert account_of(member).available == -25
    path = write_csv(
        tmp_path,
        [
            ["R-3", member.card_number, "2025-05-20", "100000"],  # 10, paid 0 of the debt
            ["R-1", member.card_number, "2025-05-01", "100000"],  # 10, all to the debt
            ["R-2", member.card_number, "2025-05-10", "200000"],  # 20, 15 to the debt
            ["R-4", member.card_number, "2025-06-14", "300000"],  # 30 pending
        ],
    )

    run(path)

    remaining = dict(
        PointLot.objects.filter(purchase__source="import").values_list(
            "purchase__external_id", "remaining"
        )
    )
    assert remaining == {"R-1": 0, "R-2": 5, "R-3": 10, "R-4": 30}
    account = account_of(member)
    assert (account.available, account.pending) == (15, 30)
    assert not ledger_discrepancies()


def test_a_till_sending_a_receipt_already_imported_gets_a_conflict_not_an_error(
    client, store, store_key, member, tmp_path
):
    """An imported purchase has no idempotency record; the POS syncing the same receipt id
    later is told it is taken (409), and nothing is written twice."""
    from members.models import Purchase
    from pos.services.imports import transactions_import

    path = tmp_path / "history.csv"
    path.write_text(
        f"external_id,member,occurred_at,amount\nR-77,{member.card_number},2020-01-01,100000\n"
    )
    transactions_import(path=path, store=store)
    _row, raw = store_key
    response = client.post(
        "/api/v1/pos/transactions/",
        {"external_id": "R-77", "member": member.card_number, "total_amount": "100000"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Purchase.objects.filter(store=store, external_id="R-77").count() == 1


# ------------------------------------------------------- reading members quickly, exactly


def _answer(normalize, text):
    try:
        return normalize(text)
    except ValidationError as exc:
        return ("error", exc.code, exc.messages)


def test_the_quick_phone_reading_answers_as_phone_normalize():
    """Every written form of a sample of numbers under every three-digit prefix (valid and
    not), and forms the quick path leaves to ``phone_normalize``."""
    from members.identifiers import phone_normalize
    from pos.services.imports import phone_normalize_fast

    rng = random.Random(20250615)
    texts = [
        "0912345678",
        "+84 0912 345 678",
        "084912345678",
        "(+84) 912-345-678",
        "0012345678",
        "+840912345678",
        "8491234567",
        "849123456789",
        "+1 202 555 0143",
        "+33 6 12 34 56 78",
        "0100 000 000",
        "02838 123 456",
    ]
    for prefix in range(1000):
        nine = f"{prefix:03d}{rng.randrange(10**6):06d}"
        texts += [
            "0" + nine,
            "+84" + nine,
            "84" + nine,
            f"0{nine[:3]} {nine[3:6]} {nine[6:]}",
            f"0{nine[:3]}.{nine[3:6]}.{nine[6:]}",
            f"(0{nine[:2]}) {nine[2:5]}-{nine[5:]}",
            f"+84 {nine[:3]} {nine[3:6]} {nine[6:]}",
        ]
    with translation.override("en"):
        differ = [
            text
            for text in texts
            if _answer(phone_normalize_fast, text) != _answer(phone_normalize, text)
        ]
    assert differ == []
    assert phone_normalize_fast("0912.345.678") == "+84912345678"


@pytest.mark.parametrize(
    "email",
    [
        "mai@example.com",
        "an.le+tag@googlemail.com",
        "a@localhost",
        "a@[127.0.0.1]",
        "a@[::1]",
        "a@[300.1.1.1]",
        "a@b",
        "a@-example.com",
        "a@example..com",
        "a@exa_mple.com",
        "a@xn--bcher-kva.example",
        "a@bücher.example",
        "a b@example.com",
        '"a b"@example.com',
        '"a@b"@example.com',
        "a..b@example.com",
        ".a@example.com",
        "@example.com",
        "a@",
        "a@b@example.com",
        "a@example.com.",
        "a@123.example",
        "a@example.c0m",
        ("x" * 64) + "@" + ("d" * 63) + ".example",
        "x@" + ".".join(["d" * 60] * 4) + ".vn",
    ],
)
def test_the_quick_email_check_agrees_with_django(email):
    from django.core.validators import validate_email

    from pos.services.imports import EMAIL_MAX, email_is_valid

    try:
        validate_email(email)
        django_says = len(email) <= EMAIL_MAX
    except ValidationError:
        django_says = False
    assert email_is_valid(email) is django_says


def test_backslashes_and_the_null_marker_in_a_receipt_id_survive_staging(tmp_path, store, member):
    ids = ["\\N", "R\\N", "\\", "R\\1\\N\\t", "N"]
    rows = [[external_id, member.card_number, "2025-06-01", "100000"] for external_id in ids]
    result = transactions_import(path=write_csv(tmp_path, rows), store=store)
    assert result.ok, result.first_rejections
    assert sorted(Purchase.objects.values_list("external_id", flat=True)) == sorted(ids)


# ------------------------------------------------------------ a member with no name yet


def test_a_member_with_no_name_yet_shows_in_the_admin_and_can_be_named_later(
    client, tmp_path, store, program_admin
):
    run(write_csv(tmp_path, [["R-1", "0903 555 666", "2025-06-01", "100000"]]), "--create-members")
    created = Member.objects.get(phone="+84903555666")
    client.force_login(program_admin)

    listing = client.get("/staff/members/member/")
    page = client.get(f"/staff/members/member/{created.pk}/change/")
    points = client.get(f"/staff/members/member/{created.pk}/adjust-points/")

    assert listing.status_code == page.status_code == points.status_code == 200
    assert created.card_number in listing.content.decode()
    assert created.card_number_display in points.content.decode()
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data |= {"phone": "0903 555 666", "birth_date": "", "occupation": "Giáo viên"}
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    saved = client.post(f"/staff/members/member/{created.pk}/change/", data)
    assert saved.status_code == 302, saved.content
    created.refresh_from_db()
    assert (created.full_name, created.occupation) == ("", "Giáo viên")
    data |= {"full_name": "Phạm Văn Cường"}
    client.post(f"/staff/members/member/{created.pk}/change/", data)
    created.refresh_from_db()
    assert created.full_name == "Phạm Văn Cường"
    assert str(created) == f"Phạm Văn Cường ({created.card_number})"
    data |= {"full_name": ""}  # once given, a name is required
    refused = client.post(f"/staff/members/member/{created.pk}/change/", data)
    assert refused.status_code == 200
    assert "full_name" in refused.context["adminform"].form.errors
    created.refresh_from_db()
    assert created.full_name == "Phạm Văn Cường"


def test_a_message_to_a_member_with_no_name_yet_greets_them_politely():
    from campaigns.rendering import MessageContext, fill

    assert fill("Chúc mừng sinh nhật {name}!", MessageContext(name=""), "vi") == (
        "Chúc mừng sinh nhật Quý khách!"
    )
    assert fill("Dear {name},", MessageContext(name=""), "en") == "Dear valued member,"
    assert fill("Dear {name},", MessageContext(name="Mai"), "en") == "Dear Mai,"


def test_the_portal_greets_a_member_with_no_name_yet(client, member_user):
    Member.objects.filter(user=member_user).update(full_name="")
    client.force_login(member_user)
    page = client.get("/me/").content.decode()
    assert "Xin chào</h1>" in page
    assert "Xin chào, " not in page
