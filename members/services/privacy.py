"""Personal-data rights (Vietnam's Decree 13/2023 on personal data protection): a member's
copy of everything held about them, the withdrawal of every marketing consent, and the
erasure of their account. Each request carried out leaves a ``DataRequest`` row.

The export reads every model that points at the member or their login. ``members`` is the
lowest app and imports none above it, so the sections name their models by label
(``apps.get_model``) and read through the member's foreign key: reads only, the one place
that must see everything. ``RELATIONS`` says, for every relation to ``Member`` and to the
login, which section exports it or why it is left out; ``tests/members/test_privacy.py``
walks the models' relations and fails on one that is in neither, so a new model cannot be
forgotten.

The erasure writes the members app's own rows here and sends ``members.signals.
member_erasing`` inside the same transaction, so the apps above (rewards: vouchers;
campaigns: sends, notifications, the SMS log; promotions: reviews, referral checks' device
ids and contacts) erase their part with their own code.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.apps import apps
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from members.models import AuditEntry, ConsentEvent, DataRequest, Member, User
from members.services.people import CONSENT_CHANNELS, member_set_consent
from members.signals import member_erasing

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "loyalty-member-data/1"
CHUNK = 2000


# ---------------------------------------------------------------------------------------------
# Values


def _value(value):
    """A JSON-friendly value: ISO dates (local time for moments), decimals as strings."""
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def _row(obj, fields: Iterable[str]) -> dict:
    return {field: _value(getattr(obj, field)) for field in fields}


# ---------------------------------------------------------------------------------------------
# Sections of the export


@dataclass(frozen=True)
class Section:
    """One table of the export: rows of ``model`` whose ``fk`` is the member (or, with
    ``of_user``, the member's login), shaped by ``row``."""

    name: str
    model: str
    fk: str
    row: Callable[[models.Model], dict]
    columns: tuple[str, ...]
    order_by: tuple[str, ...] = ("pk",)
    select_related: tuple[str, ...] = ()
    of_user: bool = False

    def queryset(self, member: Member):
        try:
            model = apps.get_model(self.model)
        except LookupError:  # an optional app that is not installed
            return Member.objects.none()
        owner = member.user_id if self.of_user else member.pk
        if owner is None:
            return model._default_manager.none()
        return (
            model._default_manager.filter(**{f"{self.fk}_id": owner})
            .select_related(*self.select_related)
            .order_by(*self.order_by)
        )

    def rows(self, member: Member) -> Iterator[dict]:
        for obj in self.queryset(member).iterator(chunk_size=CHUNK):
            yield self.row(obj)


def _fields_section(name, model, fk, columns, **kwargs) -> Section:
    return Section(name, model, fk, lambda obj: _row(obj, columns), tuple(columns), **kwargs)


CONSENT_COLUMNS = ("channel", "granted", "source", "at")
ENTRY_COLUMNS = (
    "id",
    "created_at",
    "kind",
    "available_delta",
    "pending_delta",
    "purchase_receipt",
    "store",
    "return_id",
    "lot",
    "lots_expire_on",
    "reason",
    "reverses",
)


def _entry_row(entry) -> dict:
    purchase = entry.purchase
    return {
        "id": entry.pk,
        "created_at": _value(entry.created_at),
        "kind": entry.kind,
        "available_delta": entry.available_delta,
        "pending_delta": entry.pending_delta,
        "purchase_receipt": purchase.external_id if purchase else "",
        "store": purchase.store.name if purchase else "",
        "return_id": entry.purchase_return.external_id if entry.purchase_return else "",
        "lot": entry.lot_id,
        "lots_expire_on": _value(entry.lots_expire_on),
        "reason": entry.reason,
        "reverses": entry.reverses_id,
    }


PURCHASE_COLUMNS = (
    "id",
    "store",
    "receipt",
    "occurred_at",
    "total_amount",
    "voucher_discount",
    "points_redeemed",
    "points_discount",
    "amount_due",
    "points_earned",
    "returned_amount",
    "points_reversed",
    "points_refunded",
    "source",
    "created_at",
)
ITEM_COLUMNS = ("purchase", "receipt", "sku", "name", "category", "quantity", "unit_price")
RETURN_COLUMNS = (
    "purchase",
    "receipt",
    "return_id",
    "store",
    "amount",
    "points_reversed",
    "points_refunded",
    "created_at",
    "items",
)


def _item_row(purchase, item: dict) -> dict:
    item = item if isinstance(item, dict) else {"name": str(item)}
    return {
        "purchase": purchase.pk,
        "receipt": purchase.external_id,
        **{key: _value(item.get(key, "")) for key in ITEM_COLUMNS[2:]},
    }


def _return_row(purchase, ret) -> dict:
    return {
        "purchase": purchase.pk,
        "receipt": purchase.external_id,
        "return_id": ret.external_id,
        "store": ret.store.name,
        "amount": _value(ret.amount),
        "points_reversed": ret.points_reversed,
        "points_refunded": ret.points_refunded,
        "created_at": _value(ret.created_at),
        "items": ret.items,
    }


def _purchase_row(purchase) -> dict:
    """A purchase with its lines and returns (JSON nests them; the CSV has tables of both)."""
    row = {
        "id": purchase.pk,
        "store": purchase.store.name,
        "receipt": purchase.external_id,
        **_row(purchase, PURCHASE_COLUMNS[3:]),
    }
    row["items"] = [_item_row(purchase, item) for item in (purchase.items or [])]
    row["returns"] = [_return_row(purchase, ret) for ret in purchase.returns.all()]
    return row


class _PurchaseSection(Section):
    def queryset(self, member):
        # iterator(chunk_size=...) prefetches per chunk: memory stays bounded.
        return super().queryset(member).prefetch_related("returns__store")


VOUCHER_COLUMNS = (
    "code",
    "reward",
    "status",
    "source",
    "kind",
    "discount_amount",
    "discount_percent",
    "discount_cap",
    "min_spend",
    "points_spent",
    "valid_from",
    "valid_until",
    "issued_at",
    "issued_at_store",
    "used_at",
    "used_on_receipt",
    "discount_applied",
    "cancelled_at",
    "restored_at",
    "partner_code",
)


def _voucher_row(voucher) -> dict:
    row = _row(
        voucher,
        [
            c
            for c in VOUCHER_COLUMNS
            if c not in ("reward", "issued_at_store", "used_on_receipt", "partner_code")
        ],
    )
    row["reward"] = voucher.reward.name
    row["issued_at_store"] = voucher.issued_at_store.name if voucher.issued_at_store else ""
    row["used_on_receipt"] = voucher.used_on.external_id if voucher.used_on else ""
    row["partner_code"] = voucher.partner_code
    return {column: row[column] for column in VOUCHER_COLUMNS}


REFERRAL_COLUMNS = (
    "role",
    "status",
    "channel",
    "joined_at",
    "window_ends_at",
    "paid_on",
    "points",
    "decided_at",
)


def _referral_row(role: str):
    """A referral as the member sees it: never the other member's name, phone or card."""

    def row(referral) -> dict:
        return {
            "role": role,
            "status": referral.status,
            "channel": referral.channel,
            "joined_at": _value(referral.joined_at),
            "window_ends_at": _value(referral.window_ends_at),
            "paid_on": _value(referral.paid_on),
            "points": referral.referrer_points if role == "referrer" else referral.referee_points,
            "decided_at": _value(referral.decided_at),
        }

    return row


SEND_COLUMNS = (
    "campaign",
    "occurrence",
    "status",
    "skip_reason",
    "email_status",
    "sms_status",
    "in_app_status",
    "points_granted",
    "voucher",
    "created_at",
    "finished_at",
)


def _send_row(send) -> dict:
    row = _row(send, SEND_COLUMNS)
    row["campaign"] = send.campaign.name
    row["voucher"] = send.voucher.code if send.voucher_id else ""
    return row


def _tier_change_row(change) -> dict:
    return {
        "at": _value(change.at),
        "from_tier": change.from_tier.code if change.from_tier_id else "",
        "to_tier": change.to_tier.code,
        "reason": change.reason,
    }


def _audit_row(entry) -> dict:
    return {
        "at": _value(entry.at),
        "action": entry.action,
        "reason": entry.reason,
        "data": entry.data,
    }


def _review_row(review) -> dict:
    return {
        "receipt": review.purchase.external_id,
        "rating": review.rating,
        "comment": review.comment,
        "created_at": _value(review.created_at),
    }


def _award_row(award) -> dict:
    return {
        "promotion": award.promotion.name,
        "receipt": award.purchase.external_id if award.purchase_id else "",
        "points": award.points,
        "created_at": _value(award.created_at),
    }


def _authenticator_row(authenticator) -> dict:
    # The kind and dates only: never a secret, a recovery code or a key.
    return {
        "type": authenticator.type,
        "created_at": _value(authenticator.created_at),
        "last_used_at": _value(authenticator.last_used_at),
    }


SECTIONS: tuple[Section, ...] = (
    _fields_section(
        "consent_history", "members.ConsentEvent", "member", CONSENT_COLUMNS, order_by=("at", "pk")
    ),
    Section(
        "point_entries",
        "members.PointEntry",
        "member",
        _entry_row,
        ENTRY_COLUMNS,
        order_by=("created_at", "pk"),
        select_related=("purchase__store", "purchase_return"),
    ),
    _fields_section(
        "point_lots",
        "members.PointLot",
        "member",
        ("id", "points", "remaining", "status", "earned_on", "matures_on", "expires_on"),
        order_by=("earned_on", "pk"),
    ),
    _PurchaseSection(
        "purchases",
        "members.Purchase",
        "member",
        _purchase_row,
        PURCHASE_COLUMNS,
        order_by=("occurred_at", "pk"),
        select_related=("store",),
    ),
    Section(
        "vouchers",
        "rewards.Voucher",
        "member",
        _voucher_row,
        VOUCHER_COLUMNS,
        order_by=("issued_at", "pk"),
        select_related=("reward", "issued_at_store", "used_on"),
    ),
    Section(
        "referrals_made",
        "promotions.Referral",
        "referrer",
        _referral_row("referrer"),
        REFERRAL_COLUMNS,
        order_by=("joined_at", "pk"),
    ),
    Section(
        "referred_by",
        "promotions.Referral",
        "referee",
        _referral_row("referee"),
        REFERRAL_COLUMNS,
    ),
    Section(
        "reviews",
        "promotions.PurchaseReview",
        "member",
        _review_row,
        ("receipt", "rating", "comment", "created_at"),
        select_related=("purchase",),
    ),
    Section(
        "promotion_awards",
        "promotions.PromotionAward",
        "member",
        _award_row,
        ("promotion", "receipt", "points", "created_at"),
        select_related=("promotion", "purchase"),
    ),
    Section(
        "campaign_sends",
        "campaigns.Send",
        "member",
        _send_row,
        SEND_COLUMNS,
        select_related=("campaign", "voucher"),
    ),
    _fields_section(
        "notifications",
        "campaigns.Notification",
        "member",
        ("title", "body", "created_at", "read_at"),
        order_by=("created_at", "pk"),
    ),
    Section(
        "tier_history",
        "tiers.TierChange",
        "member",
        _tier_change_row,
        ("at", "from_tier", "to_tier", "reason"),
        order_by=("at", "pk"),
        select_related=("from_tier", "to_tier"),
    ),
    Section(
        "staff_actions",
        "members.AuditEntry",
        "member",
        _audit_row,
        ("at", "action", "reason", "data"),
        order_by=("at", "pk"),
    ),
    _fields_section(
        "known_contacts",
        "promotions.KnownContact",
        "member",
        ("kind", "value", "seen_at"),
        order_by=("seen_at", "pk"),
    ),
    _fields_section(
        "data_requests",
        "members.DataRequest",
        "member",
        ("kind", "channel", "created_at", "completed_at"),
        order_by=("created_at", "pk"),
    ),
    _fields_section(
        "login_phone_claims",
        "members.PhoneClaim",
        "user",
        ("phone", "created_at"),
        of_user=True,
    ),
    _fields_section(
        "login_email_addresses",
        "account.EmailAddress",
        "user",
        ("email", "verified", "primary"),
        of_user=True,
    ),
    Section(
        "login_second_factors",
        "mfa.Authenticator",
        "user",
        _authenticator_row,
        ("type", "created_at", "last_used_at"),
        of_user=True,
    ),
)

# Every relation to Member and to the login: the section that exports it, or (prefixed
# "excluded: ") why it is not exported. Keys are "<app_label>.<Model>.<field>".
RELATIONS: dict[str, str] = {
    **{f"{section.model}.{section.fk}": section.name for section in SECTIONS},
    "members.PointAccount.member": "point_account",
    "tiers.MemberTier.member": "tier",
    "campaigns.MemberScore.member": "segment_score",
    "members.Member.user": "profile",
    "members.Member.referred_by": (
        "excluded: the members this member referred are other people; their referrals "
        "are exported (referrals_made) without their personal data"
    ),
    "admin.LogEntry.user": "excluded: admin actions, which only staff logins make",
    "members.User_stores.user": "excluded: the stores a staff login works for",
    "members.User_groups.user": "excluded: staff roles",
    "members.User_user_permissions.user": "excluded: staff permissions",
    "members.ConsentEvent.actor": (
        "excluded: who changed a consent; the member's own events are in consent_history"
    ),
    "members.AuditEntry.actor": "excluded: the staff user who acted (staff's data)",
    "members.PointEntry.actor": "excluded: the staff user who adjusted points (staff's data)",
    "members.DataRequest.acting_user": "excluded: the staff user who carried a request out",
    "tiers.TierChange.actor": "excluded: the staff user who set a tier (staff's data)",
    "rewards.Voucher.issued_by": "excluded: the staff user who issued a voucher",
    "campaigns.Campaign.approved_by": "excluded: staff who run campaigns",
    "campaigns.Campaign.created_by": "excluded: staff who run campaigns",
    "campaigns.Campaign.updated_by": "excluded: staff who run campaigns",
    "campaigns.Segment.created_by": "excluded: staff who define segments",
    "campaigns.Segment.updated_by": "excluded: staff who define segments",
    "promotions.Referral.reviewed_by": "excluded: the staff user who reviewed a referral",
    "pos.StoreApiKey.created_by": "excluded: staff who manage the tills' keys",
    "member_api.MemberIdempotencyRecord.member": (
        "excluded: replay records of the app's writes (a request hash and the first answer, "
        "whose content is exported in its own section: the voucher, the profile)"
    ),
}


PROFILE_COLUMNS = (
    "card_number",
    "referral_code",
    "full_name",
    "phone",
    "email",
    "birth_date",
    "gender",
    "province",
    "occupation",
    "language",
    "status",
    "blocked_reason",
    "enrolled_via",
    "enrolled_at_store",
    "joined_at",
    "referred",
    "email_consent",
    "email_consent_at",
    "sms_consent",
    "sms_consent_at",
    "updated_at",
    "erased_at",
)


def _profile(member: Member) -> dict:
    row = _row(member, [c for c in PROFILE_COLUMNS if c not in ("enrolled_at_store", "referred")])
    store = member.enrolled_at_store
    row["enrolled_at_store"] = store.name if store else ""
    # Whether someone referred them, not who: the referrer is another person.
    row["referred"] = member.referred_by_id is not None
    return {column: row[column] for column in PROFILE_COLUMNS}


LOGIN_COLUMNS = ("email", "date_joined", "last_login", "is_active", "second_factor")


def _login(member: Member) -> dict | None:
    user = member.user
    if user is None:
        return None
    row = _row(user, ("email", "date_joined", "last_login", "is_active"))
    row["second_factor"] = apps.get_model("mfa", "Authenticator").objects.filter(user=user).exists()
    return row


def _one(model_label: str, member: Member, columns: Iterable[str], **extra) -> dict | None:
    obj = (
        apps.get_model(model_label)
        ._default_manager.filter(member_id=member.pk)
        .select_related(*extra.get("select_related", ()))
        .first()
    )
    if obj is None:
        return None
    row = _row(obj, columns)
    for key, fn in extra.get("computed", {}).items():
        row[key] = fn(obj)
    return row


ACCOUNT_COLUMNS = (
    "available",
    "pending",
    "lifetime_earned",
    "lifetime_spent",
    "lifetime_expired",
    "updated_at",
)
TIER_COLUMNS = ("tier", "since", "retained_until", "locked_until")
SCORE_COLUMNS = (
    "recency",
    "frequency",
    "monetary",
    "lifecycle",
    "lifecycle_since",
    "first_purchase_at",
    "last_purchase_at",
    "purchases_12m",
    "spend_12m",
    "computed_on",
)


def _singles(member: Member) -> dict[str, tuple[tuple[str, ...], dict | None]]:
    """The one-row sections: their columns and row (None when there is none)."""
    return {
        "profile": (PROFILE_COLUMNS, _profile(member)),
        "login": (LOGIN_COLUMNS, _login(member)),
        "point_account": (ACCOUNT_COLUMNS, _one("members.PointAccount", member, ACCOUNT_COLUMNS)),
        "tier": (
            TIER_COLUMNS,
            _one(
                "tiers.MemberTier",
                member,
                TIER_COLUMNS[1:],
                select_related=("tier",),
                computed={"tier": lambda status: status.tier.code},
            ),
        ),
        "segment_score": (SCORE_COLUMNS, _one("campaigns.MemberScore", member, SCORE_COLUMNS)),
    }


def _fresh(member: Member) -> Member:
    return Member.objects.select_related("user", "enrolled_at_store").get(pk=member.pk)


def member_data_export(member: Member) -> dict:
    """Everything held about ``member``, JSON-serialisable: strings, ints, booleans, decimals
    as strings, ISO dates and moments (local time with its offset). Sections of one row are
    objects (``profile``, ``login``, ``point_account``, ``tier``, ``segment_score``; None when
    there is none); the others are lists, oldest first. Purchases carry their ``items`` and
    ``returns``. Reads with ``iterator()`` so a long ledger is not cached twice."""
    member = _fresh(member)
    data: dict = {
        "format": EXPORT_FORMAT,
        "generated_at": _value(timezone.now()),
        "member_id": member.pk,
    }
    for name, (_columns, row) in _singles(member).items():
        data[name] = row
    for section in SECTIONS:
        data[section.name] = list(section.rows(member))
    return data


# ---------------------------------------------------------------------------------------------
# CSV: a ZIP of one table per section


def _csv_cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_table(archive: zipfile.ZipFile, name: str, columns, rows: Iterable[dict]) -> None:
    # UTF-8 with a byte-order mark: Excel (what most members and staff open a CSV with)
    # reads a BOM-less file as the system's code page and garbles Vietnamese.
    with archive.open(f"{name}.csv", "w") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(column)) for column in columns])
        text.flush()
        text.detach()


def member_data_export_csv(member: Member) -> tuple[bytes, str, str]:
    """The same data as ``member_data_export``, as a ZIP of one CSV per table (UTF-8 with a
    BOM, comma-separated, a header row), plus ``data.json`` (the same export, for programs)
    and a ``README.txt``. Returns (content, content type, file name).

    One CSV per table because the sections have different columns: a single sheet would be
    either unreadable or lossy. Purchase lines and returns are their own tables, keyed by
    the purchase's id and receipt. Written to a spooled temporary file row by row.
    """
    member = _fresh(member)
    stamp = timezone.localdate().isoformat()
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buffer:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, (columns, row) in _singles(member).items():
                _write_table(archive, name, columns, [row] if row else [])
            for section in SECTIONS:
                if isinstance(section, _PurchaseSection):
                    _write_purchases(archive, section, member)
                else:
                    _write_table(archive, section.name, section.columns, section.rows(member))
            archive.writestr("README.txt", _readme())
        buffer.seek(0)
        content = buffer.read()
    return content, "application/zip", f"my-data-{member.card_number}-{stamp}.zip"


def _write_purchases(archive, section: Section, member: Member) -> None:
    # Three tables from one pass would need three files open at once in the ZIP, which
    # zipfile forbids: the purchases are read once per table (a chunked read each).
    _write_table(archive, "purchases", PURCHASE_COLUMNS, section.rows(member))
    _write_table(
        archive,
        "purchase_items",
        ITEM_COLUMNS,
        (item for row in section.rows(member) for item in row["items"]),
    )
    _write_table(
        archive,
        "purchase_returns",
        RETURN_COLUMNS,
        (ret for row in section.rows(member) for ret in row["returns"]),
    )


def _readme() -> str:
    return (
        "Your data / Dữ liệu của bạn\n\n"
        "One CSV file per table, UTF-8 (opens in Excel with Vietnamese intact).\n"
        "Mỗi bảng một tệp CSV, mã UTF-8 (mở bằng Excel vẫn giữ tiếng Việt).\n\n"
        "Dates are ISO 8601 (YYYY-MM-DD), times in Vietnam time with their offset;\n"
        "amounts in VND with a full stop before decimals.\n"
        "Ngày theo ISO 8601 (NĂM-THÁNG-NGÀY), giờ Việt Nam kèm múi giờ;\n"
        "số tiền tính bằng đồng, dấu chấm trước phần thập phân.\n"
    )


# ---------------------------------------------------------------------------------------------
# Requests


def _staff_actor(member: Member, acting_user: User | None) -> User | None:
    if acting_user is None or acting_user.pk == member.user_id or not acting_user.is_staff:
        return None
    return acting_user


def data_request_record(
    *,
    member: Member,
    kind: str,
    acting_user: User | None,
    channel: str,
    note: str = "",
) -> DataRequest:
    """Record a request carried out now (``DataRequest.Kind`` / ``.Channel``). The acting
    user is kept only when staff acted for the member; a request through the staff channel
    needs one (``ValueError`` otherwise)."""
    if kind not in DataRequest.Kind.values:
        raise ValueError(f"unknown data request kind {kind!r}")
    if channel not in DataRequest.Channel.values:
        raise ValueError(f"unknown data request channel {channel!r}")
    actor = _staff_actor(member, acting_user)
    if channel == DataRequest.Channel.STAFF and actor is None:
        raise ValueError("a request through the staff channel needs the staff user")
    now = timezone.now()
    request = DataRequest.objects.create(
        member_id=member.pk,
        kind=kind,
        channel=channel,
        acting_user=actor,
        note=(note or "").strip(),
        created_at=now,
        completed_at=now,
    )
    if actor is not None:
        AuditEntry.objects.create(
            actor=actor,
            action=f"member.data_request.{kind}",
            member_id=member.pk,
            reason=request.note,
            data={"data_request": request.pk},
        )
    return request


def _consent_source(channel: str) -> str:
    if channel == DataRequest.Channel.STAFF:
        return ConsentEvent.Source.STAFF
    return ConsentEvent.Source.PORTAL


def _withdraw_all_locked(member: Member, *, acting_user, channel: str, now) -> list[str]:
    withdrawn = []
    for consent_channel in CONSENT_CHANNELS:
        if member_set_consent(
            member=member,
            channel=consent_channel,
            granted=False,
            source=_consent_source(channel),
            acting_user=acting_user,
            at=now,
        ):
            withdrawn.append(consent_channel)
    return withdrawn


@transaction.atomic
def member_withdraw_consents(
    *, member: Member, acting_user: User | None, channel: str, note: str = ""
) -> DataRequest:
    """Turn every marketing consent off (email and SMS: the channels ``ConsentEvent`` knows;
    in-app notifications are service messages of the portal and need none), each a consent
    event with its source, and record the request. Campaigns read the flags at every send,
    so a queued send goes no further on those channels."""
    Member.objects.select_for_update().filter(pk=member.pk).first()
    _withdraw_all_locked(member, acting_user=acting_user, channel=channel, now=timezone.now())
    return data_request_record(
        member=member,
        kind=DataRequest.Kind.WITHDRAW_CONSENTS,
        acting_user=acting_user,
        channel=channel,
        note=note,
    )


def erased_identifier(member_id: int) -> str:
    """What replaces the card number and referral code of an erased member: unique (the id),
    and never a valid card or code (a lower-case letter; cards are digits, codes upper case),
    so nobody typing or scanning a number finds the erased member."""
    return f"x{member_id:011d}"[:12]


def _erase_login(user: User) -> None:
    """The login goes: email addresses and second factors deleted, then the user itself.
    A user other rows still protect (a staff user who is also a member) is kept but made
    unusable: no email, no password, inactive. Either way every session and app token of
    it stops working (a deleted user, or a changed password hash, fails Django's check)."""
    for label in ("account.EmailAddress", "mfa.Authenticator", "members.PhoneClaim"):
        with contextlib.suppress(LookupError):  # an app not installed
            apps.get_model(label).objects.filter(user=user).delete()
    if not user.is_staff and not user.is_superuser:
        try:
            with transaction.atomic():
                user.delete()
            return
        except (ProtectedError, RestrictedError):
            pass
    user.email = f"erased-{user.pk}@erased.invalid"
    user.name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["email", "name", "is_active", "password"])


@transaction.atomic
def member_erase(
    *, member: Member, acting_user: User | None, channel: str, reason: str = ""
) -> DataRequest:
    """Erase a member's personal data at their request; keep the business's figures.

    - consents withdrawn (consent events with the source: the history stays, as proof);
    - profile anonymised: name, phone, email, birthday, gender, province, occupation cleared;
      card number and referral code replaced (``erased_identifier``): the till's lookup of
      the old card finds nobody, and the phone and email are free to enrol again;
    - the login deleted (email addresses, second factors, sessions and app tokens with it);
    - staff audit data that copied profile values reduced to the field names; purchases'
      payment-card fingerprints cleared;
    - the apps above erase their part on ``members.signals.member_erasing``: unused vouchers
      cancelled (no points back: the member who could spend them is gone), queued campaign
      sends ended, notification and SMS texts blanked, review comments, referral device ids,
      IPs and known contacts removed;
    - point entries, lots, the account, purchases, returns and tier history stay as they
      are, linked to the anonymised member (``verify_ledger`` stays clean).

    Atomic and idempotent: erasing an erased member changes nothing and returns the request
    that erased it.
    """
    locked = Member.objects.select_for_update(of=("self",)).select_related("user").get(pk=member.pk)
    if locked.is_erased:
        previous = (
            DataRequest.objects.filter(member_id=locked.pk, kind=DataRequest.Kind.ERASE)
            .order_by("-created_at", "-id")
            .first()
        )
        if previous is not None:
            return previous
        return data_request_record(
            member=locked,
            kind=DataRequest.Kind.ERASE,
            acting_user=acting_user,
            channel=channel,
            note=reason,
        )
    now = timezone.now()
    _withdraw_all_locked(locked, acting_user=acting_user, channel=channel, now=now)
    old = {"phone": locked.phone, "email": locked.email}
    user = locked.user
    member_erasing.send(sender=Member, member=locked, now=now, phone=old["phone"])
    Member.objects.filter(pk=locked.pk).update(
        full_name="",
        phone=None,
        email=None,
        birth_date=None,
        gender="",
        province="",
        occupation="",
        language="vi",
        card_number=erased_identifier(locked.pk),
        referral_code=erased_identifier(locked.pk),
        status=Member.Status.ERASED,
        blocked_reason="",
        erased_at=now,
        user=None,
        updated_at=now,
    )
    for entry in AuditEntry.objects.filter(member_id=locked.pk).iterator(chunk_size=CHUNK):
        data = entry.data if isinstance(entry.data, dict) else {}
        if "before" in data or "after" in data:
            fields = sorted(set(data.get("before", {})) | set(data.get("after", {})))
            AuditEntry.objects.filter(pk=entry.pk).update(data={"fields": fields})
    apps.get_model("members", "Purchase").objects.filter(member_id=locked.pk).exclude(
        payment_fingerprint=""
    ).update(payment_fingerprint="")
    if user is not None:
        _erase_login(user)
    request = data_request_record(
        member=locked,
        kind=DataRequest.Kind.ERASE,
        acting_user=acting_user,
        channel=channel,
        note=reason,
    )
    logger.info("member %s erased (request %s, via %s)", locked.pk, request.pk, channel)
    return request
