"""Import historical purchases from a CSV file (``manage.py import_transactions``).

All or nothing per file. The file is streamed once: each row's formats are checked in Python
(member normalised to a card number, an E.164 phone or a lower-case email; time read in the
programme's time zone; amount exact to the cent; points at the programme's base rate) and
the row goes, valid or not, into a temporary staging table in batches. Everything else is
set-based SQL (``imports_sql``): duplicates within the file, members, purchases the store
already has; then, only when no row was rejected, the purchases, their lots and entries and
the balances, in the same transaction. Memory stays bounded whatever the file's size: Python
holds one batch of rows at most, never the file's ids or rejections (the counts come from a
GROUP BY, the report is streamed from the staging table in line order once every check ran,
since half the reasons are only known after the set-based ones).

With ``create_members`` each phone or email that matches nobody becomes one member, however
many rows name it, set-based as well (``_create_members``): the file's four columns alone
are enough, an optional ``full_name`` column fills in the name (the first row that gives
one) and without it the name stays empty until the profile is completed (by staff, for
now). Such a member is what ``member_create`` makes from a phone or an
email alone: a card number with its Luhn digit and a referral code (random, unique by the
database's constraints), a point account, the contacts the referral checks remember,
enrolled by import at the store, joined at the first purchase, no consent given. The
``member_enrolled`` signal is not sent for them: its receivers (a referral: nobody referred
a historical member; the completed-profile bonus: a phone or an email alone is not a
complete profile; the known contacts: written here) have nothing to do for such a member,
and a Python call per member is what made the import slow.

Points are earned as the POS earns them (pending until ``pending_days`` after the
purchase's local date, else available at once; expiring at the end of the month
``expiry_months`` later), at the base rate only: no tier multiplier, promotion or category
rule applies to history. Then the daily maturing and expiry jobs run for ``today``, so old
points end up as the daily jobs would have left them.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from insights.services import import_mark_dirty
from loyalty.errors import DomainError
from members.identifiers import (
    CARD_NUMBER_LENGTH,
    card_number_clean,
    card_numbers_generate,
    phone_looks_like,
    phone_normalize,
    referral_codes_generate,
)
from members.models import Member, Program, Purchase, Store
from members.selectors import program_get
from members.services import points as ledger
from pos.services import imports_sql as sql
from pos.services.purchases import CLOCK_SKEW, earn_points
from promotions.contacts import email_normalize

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("external_id", "member", "occurred_at", "amount")
BATCH_ROWS = 5_000
FIRST_REJECTIONS = 20
CODES_BATCH = 20_000  # new members given card numbers and referral codes at a time
EXTERNAL_ID_MAX = Purchase._meta.get_field("external_id").max_length
FULL_NAME_MAX = Member._meta.get_field("full_name").max_length
EMAIL_MAX = 254
# Up to 14 digits before the point (the money columns are 16 digits, 2 decimals) and at
# most 2 after. "125.000" (a Vietnamese thousands separator) is refused, not read as 125.
AMOUNT = re.compile(r"\d{1,14}(?:\.\d{1,2})?")
ONE = Decimal(1)

# Why a row can be rejected: the format checks here, the others in ``imports_sql``.
INVALID_EXTERNAL_ID = "invalid_external_id"
INVALID_MEMBER = "invalid_member"
INVALID_OCCURRED_AT = "invalid_occurred_at"
FUTURE = "occurred_at_in_future"
INVALID_AMOUNT = "invalid_amount"
INVALID_FULL_NAME = "invalid_full_name"


def _reason_messages() -> dict[str, str]:
    """Messages of the reasons found in SQL (``%(line)s``: the row that came first)."""
    return {
        sql.DUPLICATE: _("This external_id is already on line %(line)s of the file."),
        sql.UNKNOWN_MEMBER: _("No member with this card number, phone number or email."),
        sql.CONFLICT: _("This external_id is already used for another purchase at this store."),
    }


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str
    message: str


@dataclass
class ImportResult:
    path: Path
    report_path: Path
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    members_created: int = 0
    points_credited: int = 0
    points_pending: int = 0
    lots_matured: int = 0
    lots_expired: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    first_rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def rejected_rows(self) -> int:
        return sum(self.rejected.values())


def default_report_path(path: Path | str) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".rejected.csv")


def transactions_import(
    *,
    path: Path | str,
    store: Store,
    create_members: bool = False,
    with_points: bool = True,
    report_path: Path | str | None = None,
    today: date | None = None,
) -> ImportResult:
    """Import the purchases of ``path`` (header ``external_id,member,occurred_at,amount``,
    optional ``full_name``, other columns ignored) for ``store``; with ``create_members``
    a phone or email that matches nobody becomes a member.

    Returns the figures; when any row is rejected nothing is written, ``result.rejected``
    counts the rows by reason and every rejected row is in ``report_path`` (default
    ``<path>.rejected.csv``). Raises ``DomainError('validation_error')`` for a file that
    cannot be read as such a CSV at all (no report then), and
    ``DomainError('idempotency_conflict')`` when a receipt of the file was recorded at the
    store, or a member enrolled with one of its phones or emails, while the import ran
    (nothing is imported; running it again skips the receipt and matches the member).
    """
    clock = _Phases(path)
    path = Path(path)
    report_path = Path(report_path) if report_path else default_report_path(path)
    program = program_get()
    today = today or timezone.localdate()
    now = timezone.now()
    result = ImportResult(path=path, report_path=report_path)
    try:
        _run(
            result,
            store=store,
            program=program,
            today=today,
            now=now,
            clock=clock,
            create_members=create_members,
            with_points=with_points,
        )
    except IntegrityError as exc:
        if _is_receipt_clash(exc):
            raise DomainError(
                "idempotency_conflict",
                _(
                    "Some of these receipts were recorded at this store while the import ran "
                    "(by the POS or another import), so nothing was imported. Run it again: "
                    "what is already there will be skipped."
                ),
            ) from exc
        if create_members and _is_member_clash(exc):
            raise DomainError(
                "idempotency_conflict",
                _(
                    "A member with one of these phone numbers or emails enrolled while the "
                    "import ran, so nothing was imported. Run it again: their purchases will "
                    "go to that member."
                ),
            ) from exc
        raise
    if result.ok:
        clock.done("committed")  # PostgreSQL checks the deferred foreign keys now
    result.seconds = clock.total()
    return result


def _is_receipt_clash(exc: IntegrityError) -> bool:
    """The (store, external_id) unique constraint, as PostgreSQL or SQLite names it."""
    text = str(exc)
    return "purchase_store_receipt" in text or f"{sql.PURCHASE}.external_id" in text


def _is_member_clash(exc: IntegrityError) -> bool:
    """A member's unique phone or email (or, never seen, card number or referral code) taken
    by an enrolment that committed after the checks: PostgreSQL names the constraint,
    SQLite the column or the expression's index."""
    text = str(exc)
    return any(
        name in text
        for name in (
            "member_email_ci_unique",
            *(f"{sql.MEMBER}_{column}_key" for column in ("phone", "card_number", "referral_code")),
            *(f"{sql.MEMBER}.{column}" for column in ("phone", "card_number", "referral_code")),
        )
    )


def _run(
    result: ImportResult, *, store, program, today, now, clock, create_members, with_points
) -> None:
    path, report_path = result.path, result.report_path
    with transaction.atomic():
        sql.session_tune()
        sql.staging_create()
        result.rows = _stage(
            path, program=program, now=now, with_points=with_points, names=create_members
        )
        clock.done(f"{result.rows} rows read and staged")
        sql.staging_analyze()
        sql.mark_duplicates()
        sql.resolve_members()
        sql.mark_unknown_members(create_members=create_members)
        sql.mark_existing(store.pk)
        result.rejected = sql.rejection_counts()
        clock.done(f"checked, {sum(result.rejected.values())} rejected")
        if result.rejected:
            result.first_rejections = [
                _rejection(row) for row in sql.rejections(limit=FIRST_REJECTIONS)
            ]
            _write_report(report_path)
            clock.done(f"report written to {report_path}")
            sql.staging_drop()
            transaction.set_rollback(True)  # nothing else was written; make sure of it
        else:
            _write(
                result,
                store=store,
                program=program,
                today=today,
                now=now,
                create_members=create_members,
                with_points=with_points,
                clock=clock,
            )
            sql.staging_drop()


class _Phases:
    """Logs how long each phase took (a million rows take a while; say where it is)."""

    def __init__(self, path):
        self.path = path
        self.started = self.last = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        logger.info("import %s: %s in %.1f s", self.path, what, now - self.last)
        self.last = now

    def total(self) -> float:
        return time.monotonic() - self.started


def _write(
    result: ImportResult, *, store, program, today, now, create_members, with_points, clock: _Phases
):
    if create_members:
        result.members_created = _create_members(store, now=now)
        clock.done(f"{result.members_created} members created")
    figures = sql.totals(today=today)
    result.imported = figures["imported"]
    result.already_imported = figures["already_imported"]
    if with_points:
        sql.lock_accounts()
    sql.insert_purchases(store_id=store.pk, now=now)
    clock.done(f"{result.imported} purchases inserted")
    import_mark_dirty(*sql.imported_days())  # their closed days' facts: built again after
    if with_points and figures["points"]:
        sql.attach_purchases(store_id=store.pk)
        sql.insert_lots(today=today, now=now)
        sql.pay_debts(today=today)
        sql.insert_entries(today=today, now=now)
        sql.update_accounts(today=today, now=now)
        result.points_credited = figures["points"]
        result.points_pending = figures["pending"]
        clock.done(f"{result.points_credited} points credited")
    if with_points:
        # What the daily jobs would have done since: the window passed, the points expired.
        result.lots_matured = ledger.points_mature_due(today=today)
        result.lots_expired = ledger.points_expire_due(today=today)
        clock.done(
            f"daily jobs for {today}: {result.lots_matured} lots matured, "
            f"{result.lots_expired} expired"
        )


def _create_members(store: Store, *, now: datetime) -> int:
    """Enrol each phone or email that matches nobody, set-based (module docstring): the
    identities staged, card numbers and referral codes drawn ``CODES_BATCH`` members at a
    time (the database keeps those no member has; the rare clash is drawn again), then the
    members, accounts and contacts inserted in one statement each. Returns how many."""
    count = sql.new_members_stage()
    if not count:
        return 0
    for first in range(1, count + 1, CODES_BATCH):
        last = min(first + CODES_BATCH - 1, count)
        missing = list(range(first, last + 1))
        for _attempt in range(20):
            given = sql.codes_give(_draw_codes(missing))
            missing = [] if given == len(missing) else sql.codes_missing(first, last)
            if not missing:
                break
        else:
            raise RuntimeError("could not draw free card numbers after 20 attempts")
    return sql.members_insert(store_id=store.pk, now=now)


def _draw_codes(seqs: list[int]) -> list[tuple[int, str, str]]:
    """A card number and a referral code for each ``seq``; a value drawn twice here is
    left out (those members draw again)."""
    cards = card_numbers_generate(len(seqs))
    codes = referral_codes_generate(len(seqs))
    twice = {value for value, n in Counter([*cards, *codes]).items() if n > 1}
    return [
        (seq, card, code)
        for seq, card, code in zip(seqs, cards, codes, strict=True)
        if card not in twice and code not in twice
    ]


# ------------------------------------------------------------------------------ reading


# The written forms of a Vietnamese number that ``phone_normalize`` reads as +84 and nine
# digits (separators aside): 0 and nine digits, +84 and nine, 84 and nine.
_PHONE_SEPARATORS = re.compile(r"[\s\-.()]")
_VN_NUMBER = re.compile(r"(?:\+84|84|0)([1-9]\d{8})")


def phone_normalize_fast(text: str) -> str:
    """``phone_normalize(text)``, the same answer or the same error, quicker for the usual
    Vietnamese forms (a file creating members holds a new number on every third row, and
    parsing one with ``phonenumbers`` costs ten times checking it): such a number is
    checked as +84 and its nine digits directly, anything else goes to ``phone_normalize``.
    ``tests/pos/test_import_transactions.py`` holds the two to the same answers."""
    match = _VN_NUMBER.fullmatch(_PHONE_SEPARATORS.sub("", text))
    if match is None or settings.LOYALTY_PHONE_REGION != "VN":
        return phone_normalize(text)
    national = match.group(1)
    if not phonenumbers.is_valid_number(
        phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
    ):
        return phone_normalize(text)  # the error message, as phone_normalize words it
    return "+84" + national


@lru_cache(maxsize=1_000)
def _email_domain_valid(domain: str) -> bool:
    try:
        validate_email("a@" + domain)
    except ValidationError:
        return False
    return True


def email_is_valid(email: str) -> bool:
    """``validate_email(email)`` passes: its checks, with the costly one, the domain's,
    remembered per domain (a file's emails share a few domains)."""
    if not email or "@" not in email or len(email) > EMAIL_MAX:
        return False
    user, _at, domain = email.rpartition("@")
    return bool(validate_email.user_regex.match(user)) and _email_domain_valid(domain)


class _Parser:
    """Checks one row's fields; the member column is cached (files repeat members), and so
    are the points of an amount and the dates of a day."""

    def __init__(self, *, program: Program, now: datetime, with_points: bool, names: bool):
        self.program = program
        self.tz = timezone.get_default_timezone()
        self.latest = now + CLOCK_SKEW
        self.with_points = with_points
        self.names = names
        self.member = lru_cache(maxsize=100_000)(self._member)
        self.days = lru_cache(maxsize=10_000)(self._days)
        self.points = lru_cache(maxsize=100_000)(self._points)
        self.adapt_datetime = connection.ops.adapt_datetimefield_value
        self.adapt_date = connection.ops.adapt_datefield_value

    def row(
        self, line: int, external_id: str, member: str, occurred: str, amount: str, full_name: str
    ) -> tuple:
        errors: list[tuple[str, str]] = []
        external_id = external_id.strip()
        if not external_id:
            errors.append((INVALID_EXTERNAL_ID, _("The external_id is empty.")))
        elif len(external_id) > EXTERNAL_ID_MAX:
            errors.append(
                (
                    INVALID_EXTERNAL_ID,
                    _("The external_id is longer than %(max)s characters.")
                    % {"max": EXTERNAL_ID_MAX},
                )
            )
        kind, key, contact = self.member(member)
        if kind is None:
            errors.append((INVALID_MEMBER, key))
            key = None
        occurred_at, error = self._time(occurred)
        if error:
            errors.append(error)
        value, error = self._amount(amount)
        if error:
            errors.append(error)
        name = ""
        if self.names:
            name = " ".join(full_name.split())
            if len(name) > FULL_NAME_MAX:
                errors.append(
                    (
                        INVALID_FULL_NAME,
                        _("The full_name is longer than %(max)s characters.")
                        % {"max": FULL_NAME_MAX},
                    )
                )
        raw = (line, external_id, member, occurred, amount, name)
        if errors:
            reason = errors[0][0]
            message = " ".join(message for _code, message in errors)
            return (*raw, kind, key, None, None, None, None, None, None, None, reason, message)
        earned_on = occurred_at.astimezone(self.tz).date()
        points = self.points(value) if self.with_points else 0
        return (
            *raw,
            kind,
            key,
            contact,
            self.adapt_datetime(occurred_at),
            *self.days(earned_on),
            value,
            points,
            None,
            None,
        )

    def _points(self, amount: Decimal) -> int:
        return earn_points(
            amount_due=amount,
            total_amount=amount,
            items=[],
            program=self.program,
            multiplier=ONE,
            category_multipliers={},
        )

    def _member(self, raw: str) -> tuple[str | None, str, str | None]:
        """(kind, key, contact) or (None, message, None). Read the way ``member_find`` reads
        a query. ``contact``: an email's normalised form, for a member created from it."""
        text = raw.strip()
        if not text:
            return None, _("The member is empty."), None
        if "@" in text:
            email = text.lower()
            if not email_is_valid(email):
                message = _("“%(value)s” is not a valid email address.") % {"value": text}
                return None, message, None
            return "email", email, email_normalize(email) if self.names else None
        number = card_number_clean(text)
        if len(number) == CARD_NUMBER_LENGTH and number.isdigit():
            if luhn.is_valid(number):
                return "card", number, None
            message = _("“%(value)s” is not a valid card number (check digit).") % {"value": text}
            return None, message, None
        if phone_looks_like(text):
            try:
                return "phone", phone_normalize_fast(text), None
            except ValidationError as exc:
                return None, exc.messages[0], None
        message = _("“%(value)s” is not a card number, phone number or email address.") % {
            "value": text
        }
        return None, message, None

    def _time(self, raw: str) -> tuple[datetime | None, tuple[str, str] | None]:
        text = raw.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None, (
                INVALID_OCCURRED_AT,
                _("“%(value)s” is not an ISO 8601 date or time (2025-06-01T14:30:00+07:00).")
                % {"value": text},
            )
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        if value > self.latest:
            return None, (
                FUTURE,
                _("The purchase time %(value)s is in the future.") % {"value": text},
            )
        return value, None

    def _amount(self, raw: str) -> tuple[Decimal | None, tuple[str, str] | None]:
        text = raw.strip()
        if AMOUNT.fullmatch(text):
            return Decimal(text), None
        if text.startswith("-") and AMOUNT.fullmatch(text[1:]):
            return None, (INVALID_AMOUNT, _("The amount cannot be negative."))
        return None, (
            INVALID_AMOUNT,
            _("“%(value)s” is not an amount: digits with at most 2 decimals (125000, 19.99).")
            % {"value": text},
        )

    def _days(self, earned_on: date) -> tuple:
        """The day earned, the day the return window ends and the day the points expire,
        adapted for the database."""
        matures_on = earned_on + timedelta(days=self.program.pending_days)
        expires_on = ledger.lot_expiry(earned_on, self.program)
        return tuple(map(self.adapt_date, (earned_on, matures_on, expires_on)))


def _columns(header: list[str]) -> tuple[list[int], int | None]:
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise DomainError(
            "validation_error",
            _("The file's header lacks %(columns)s; it needs %(required)s.")
            % {"columns": ", ".join(missing), "required": ",".join(REQUIRED_COLUMNS)},
            details={"header": missing},
        )
    full_name = names.index("full_name") if "full_name" in names else None
    return [names.index(name) for name in REQUIRED_COLUMNS], full_name


def _stage(path: Path, *, program: Program, now: datetime, with_points: bool, names: bool) -> int:
    """Stream the file into the staging table; returns the number of data rows."""
    parser = _Parser(program=program, now=now, with_points=with_points, names=names)
    batch: list[tuple] = []
    count = 0
    line = 1
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise DomainError("validation_error", _("The file is empty."))
            if any("\x00" in name for name in header):
                raise DomainError("validation_error", _not_text(1))
            indexes, name_index = _columns(header)
            width = max([*indexes, name_index or 0]) + 1
            get: Callable[[list[str]], list[str]] = _getter(indexes, name_index)
            line = reader.line_num + 1
            for record in reader:
                start, line = line, reader.line_num + 1
                if not record:
                    continue  # a blank line
                if len(record) < width:
                    record = record + [""] * (width - len(record))
                fields = get(record)
                if any("\x00" in value for value in fields):
                    raise DomainError("validation_error", _not_text(start))
                batch.append(parser.row(start, *fields))
                count += 1
                if len(batch) == BATCH_ROWS:
                    _flush(batch)
    except UnicodeDecodeError:
        raise DomainError(
            "validation_error",
            _("The file is not UTF-8 text (around line %(line)s).") % {"line": line},
        ) from None
    except csv.Error as exc:
        raise DomainError(
            "validation_error",
            _("The file is not a valid CSV (line %(line)s): %(error)s.")
            % {"line": line, "error": exc},
        ) from None
    if batch:
        _flush(batch)
    return count


def _not_text(line: int) -> str:
    return _(
        "Line %(line)s holds a NUL character: this is not a UTF-8 text file (UTF-16, as some "
        "spreadsheets save, must be saved again as “CSV UTF-8”)."
    ) % {"line": line}


def _getter(indexes: list[int], name_index: int | None) -> Callable[[list[str]], list[str]]:
    ext, member, occurred, amount = indexes
    if name_index is None:
        return lambda r: [r[ext], r[member], r[occurred], r[amount], ""]
    return lambda r: [r[ext], r[member], r[occurred], r[amount], r[name_index]]


def _flush(batch: list[tuple]) -> None:
    """Stage a batch; on PostgreSQL each valid row with the ids its purchase and lot will
    have (``imports_sql.reserves_ids``)."""
    if sql.reserves_ids():
        valid = sum(1 for row in batch if row[-1] is None)
        ids = iter(sql.ids_reserve(valid)) if valid else iter(())
        rows = [(*row, *next(ids)) if row[-1] is None else (*row, None, None) for row in batch]
    else:
        rows = [(*row, None, None) for row in batch]
    sql.staging_insert(rows)
    batch.clear()


# ------------------------------------------------------------------------------ report


def _message(reason: str, message: str | None, detail: int | None) -> str:
    if message:
        return message
    return _reason_messages()[reason] % {"line": detail}


def _rejection(row: tuple) -> Rejection:
    line, reason, message, detail = row[:4]
    return Rejection(line=line, reason=reason, message=_message(reason, message, detail))


def _write_report(report_path: Path) -> None:
    with open(report_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["line", "reason", "message", "external_id", "member", "occurred_at", "amount"]
        )
        for line, reason, message, detail, *raw in sql.rejections():
            writer.writerow([line, reason, _message(reason, message, detail), *raw])
