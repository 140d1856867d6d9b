"""Fill a development database with a demo programme: two stores, a POS key, one login per
staff role, a member login and ~200 members with about a year of purchases.

Idempotent: members are keyed by phone, purchases by receipt id, the key by its prefix, so a
second run adds nothing. The key, the password and the staff's authenticator secret are
derived from SECRET_KEY: stable across runs of one checkout, never written in the repository.
The superuser and the Program admin sign in with a second factor (``loyalty.staff_mfa``):
with DEBUG on they get an authenticator app seeded with the printed secret; otherwise they
set one up at their first sign-in.
"""

from __future__ import annotations

import base64
import csv
import math
import random
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt, encrypt
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from loyalty.errors import DomainError
from loyalty.staff_mfa import mfa_required
from members.identifiers import phone_display, phone_normalize
from members.models import AuditEntry, Member, Purchase, User
from members.roles import MARKETER, PROGRAM_ADMIN, STORE_MANAGER, SUPPORT
from members.selectors import program_get
from members.services import member_create, store_create_or_update
from pos.keys import key_hash
from pos.models import StoreApiKey
from pos.services.imports import transactions_import
from rewards.services import rewards_seed_demo

SEED = 2026
MEMBER_COUNT = 200
PROGRAM_NAME = "Demo Coffee"
STORES = {
    "HCM01": {
        "name": "Demo Coffee Quận 1",
        "province": "ho-chi-minh",
        "address": "26 Lý Tự Trọng, Phường Sài Gòn, TP. Hồ Chí Minh",
    },
    "HN01": {
        "name": "Demo Coffee Hoàn Kiếm",
        "province": "ha-noi",
        "address": "15 Hàng Bài, Phường Hoàn Kiếm, Hà Nội",
    },
}
API_KEY_STORE = "HCM01"
API_KEY_PREFIX = "demo0001"
# (email, name, role shown, group); the superuser has no group.
STAFF = [
    ("admin@demo.local", "Demo Admin", "superuser", None),
    ("programadmin@demo.local", "Demo Program Admin", PROGRAM_ADMIN, PROGRAM_ADMIN),
    ("marketer@demo.local", "Demo Marketer", MARKETER, MARKETER),
    ("storemanager@demo.local", "Demo Store Manager", STORE_MANAGER, STORE_MANAGER),
    ("support@demo.local", "Demo Support", SUPPORT, SUPPORT),
]
MEMBER_LOGIN = "member@demo.local"
DEMO_MEMBER = {
    "full_name": "Nguyễn Thị Demo",
    "phone": "+84901234567",
    "email": MEMBER_LOGIN,
    "birth_date": date(1995, 8, 17),
    "gender": "female",
    "province": "ho-chi-minh",
    "occupation": "Nhân viên văn phòng",
    "email_consent": True,
    "sms_consent": False,
    "enrolled_via": Member.Channel.POS,
}

# Weights roughly follow how common each family name is.
FAMILY_NAMES = {
    "Nguyễn": 38, "Trần": 11, "Lê": 9, "Phạm": 7, "Hoàng": 5, "Huỳnh": 4, "Phan": 4, "Vũ": 3,
    "Võ": 3, "Đặng": 2, "Bùi": 2, "Đỗ": 2, "Hồ": 1, "Ngô": 1, "Dương": 1, "Lý": 1,
}  # fmt: skip
MIDDLE_NAMES = {
    "female": ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Bảo", "Khánh", "Mỹ", "Hồng"],
    "male": ["Văn", "Đức", "Minh", "Quốc", "Hữu", "Thành", "Công", "Hoàng", "Gia", "Anh"],
    "other": ["Minh", "Thanh", "Ngọc", "Gia", "Khánh"],
}
GIVEN_NAMES = {
    "female": ["Anh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương",
               "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Ngân", "Ngọc", "Nhung", "Oanh",
               "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Trâm", "Uyên", "Vy", "Yến"],
    "male": ["An", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng",
             "Huy", "Khang", "Khoa", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quang",
             "Sơn", "Tài", "Thắng", "Thịnh", "Toàn", "Trung", "Tuấn", "Việt", "Vinh", "Bảo"],
    "other": ["Anh", "Minh", "Bảo", "Khánh", "An", "Ngân", "Tú"],
}  # fmt: skip
GENDERS = {"female": 51, "male": 47, "other": 2}
# Mobile prefixes of Viettel, Vinaphone, MobiFone and Vietnamobile.
PHONE_PREFIXES = [
    "090", "091", "093", "096", "097", "098", "086", "032", "033", "034", "035", "036", "037",
    "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "056",
    "058",
]  # fmt: skip
PROVINCES = {
    "ho-chi-minh": 40, "ha-noi": 30, "da-nang": 6, "hai-phong": 4, "can-tho": 4, "dong-nai": 4,
    "bac-ninh": 3, "khanh-hoa": 3, "hue": 2, "lam-dong": 2, "an-giang": 2,
}  # fmt: skip
OCCUPATIONS = [
    "Nhân viên văn phòng", "Kỹ sư phần mềm", "Giáo viên", "Kế toán", "Bác sĩ", "Y tá",
    "Nhân viên ngân hàng", "Kinh doanh tự do", "Thiết kế đồ họa", "Chuyên viên marketing",
    "Quản lý bán hàng", "Kiến trúc sư", "Luật sư", "Dược sĩ", "Công nhân", "Tài xế công nghệ",
    "Nội trợ", "Nhà báo", "Đầu bếp", "Nhân viên kinh doanh",
]  # fmt: skip


def demo_password() -> str:
    """The password of every demo login, derived from SECRET_KEY (stable, not in the repo)."""
    digest = salted_hmac("seed_demo.password", "staff", algorithm="sha256").hexdigest()
    return "demo-" + digest[:10]


def demo_totp_secret() -> str:
    """The authenticator secret of the demo logins that need one (base32, from SECRET_KEY)."""
    digest = salted_hmac("seed_demo.totp", "staff", algorithm="sha256").digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def demo_totp_url() -> str:
    """The secret as an authenticator app reads it (paste it, or make it a QR code)."""
    label, issuer = quote("Loyalty demo:staff"), quote("Loyalty demo")
    return f"otpauth://totp/{label}?secret={demo_totp_secret()}&issuer={issuer}"


def demo_api_key() -> str:
    """The demo POS key of HCM01, derived from SECRET_KEY (stable, not in the repo)."""
    digest = salted_hmac("seed_demo.api_key", API_KEY_STORE, algorithm="sha256").hexdigest()
    return f"lk_{API_KEY_PREFIX}_{digest[:40]}"


@dataclass
class Person:
    profile: dict  # keyword arguments of member_create
    store_code: str  # the store they visit most
    joined_days_ago: float
    visits: int  # purchases in a full year


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def _phone(rng: random.Random, seen: set[str]) -> str:
    while True:
        try:
            phone = phone_normalize(rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**7):07d}")
        except ValidationError:
            continue
        if phone not in seen:
            seen.add(phone)
            return phone


def _people(rng: random.Random, today: date) -> list[Person]:
    """The demo members, the same every run: only the random generator decides."""
    people = [Person(DEMO_MEMBER, "HCM01", joined_days_ago=420, visits=24)]
    seen = {DEMO_MEMBER["phone"]}
    for n in range(1, MEMBER_COUNT):
        gender = rng.choices(list(GENDERS), weights=list(GENDERS.values()))[0]
        family = rng.choices(list(FAMILY_NAMES), weights=list(FAMILY_NAMES.values()))[0]
        middle, given = rng.choice(MIDDLE_NAMES[gender]), rng.choice(GIVEN_NAMES[gender])
        province = rng.choices(list(PROVINCES), weights=list(PROVINCES.values()))[0]
        age_days = rng.randint(18 * 366, 65 * 365)
        age = age_days // 365
        occupation = rng.choice(OCCUPATIONS) if rng.random() < 0.9 else ""
        if age < 23 and rng.random() < 0.7:
            occupation = "Sinh viên"
        elif age >= 60 and rng.random() < 0.6:
            occupation = "Nghỉ hưu"
        has_email, email_consent, sms_consent = (rng.random() < r for r in (0.75, 0.55, 0.4))
        by_pos = rng.random() < 0.8
        r = rng.random()
        visits = 0 if r < 0.08 else rng.randint(2, 15) if r < 0.85 else rng.randint(16, 40)
        profile = {
            "full_name": f"{family} {middle} {given}",
            "phone": _phone(rng, seen),
            "email": f"{_ascii(given)}.{_ascii(family)}{n}@example.com" if has_email else None,
            "birth_date": today - timedelta(days=age_days),
            "gender": gender,
            "province": province,
            "occupation": occupation,
            "email_consent": has_email and email_consent,
            "sms_consent": sms_consent,
            "enrolled_via": Member.Channel.POS if by_pos else Member.Channel.PORTAL,
        }
        home = {"ho-chi-minh": "HCM01", "ha-noi": "HN01"}.get(province) or rng.choice(list(STORES))
        people.append(Person(profile, home, rng.uniform(0, 730), visits))
    return people


def _purchases(person: Person, member: Member, stores: dict, now) -> list[Purchase]:
    """Up to a year of purchases; random draws come from the member's own generator, in the
    same order every run, so receipt ``n`` always lands at the same store."""
    rng = random.Random(f"{SEED}:{member.phone}")  # nosec B311  # demo data, reproducible on purpose
    start = max(member.joined_at, now - timedelta(days=365))
    count = min(40, math.ceil(person.visits * min(1.0, person.joined_days_ago / 365)))
    loyalty, spend = rng.uniform(0.6, 0.95), rng.gauss(0, 0.35)
    home = stores[person.store_code]
    away = next(s for code, s in stores.items() if code != person.store_code)
    rows = []
    for n in range(1, count + 1 if start < now else 1):
        share, hour, minute = rng.random(), rng.randint(7, 21), rng.randint(0, 59)
        store = home if rng.random() < loyalty else away
        amount = math.exp(rng.gauss(math.log(85_000) + spend, 0.7))
        amount = Decimal(min(2_000_000, max(30_000, round(amount / 1000) * 1000)))
        at = start + (now - start) * share
        opening = timezone.localtime(at).replace(hour=hour, minute=minute)
        opening += timedelta(days=(opening < start) - (opening > now))
        if start <= opening <= now:  # else a window shorter than a day: keep the raw time
            at = opening
        rows.append(
            Purchase(
                store=store,
                member=member,
                external_id=f"DEMO-{member.card_number}-{n:03d}",
                occurred_at=at,
                total_amount=amount,
                amount_due=amount,
                created_at=at,
            )
        )
    return rows


class _DemoPassword:
    """Makes the demo password work for a login, hashing as little as possible: the logins
    share the password, so they share one hash and a verified hash is not checked again."""

    def __init__(self, raw: str):
        self.raw, self._hash, self._good = raw, None, set()

    def ensure(self, user: User) -> bool:
        """True when the password had to be (re)set."""
        known = user.password in self._good
        if user.password and (known or check_password(self.raw, user.password)):
            self._good.add(user.password)
            return False
        self._hash = self._hash or make_password(self.raw)
        user.password = self._hash
        self._good.add(self._hash)
        return True


class Command(BaseCommand):
    help = (
        "Fill a development database with demo data (stores, a POS key, staff and member "
        "logins, ~200 members with a year of purchases). Safe to run again: nothing is added "
        "twice. The demo logins' password is reset on every run, so the password printed "
        "always works, even after someone changed it in the admin. Refuses to run when DEBUG "
        "is off unless --allow-production is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="run even with DEBUG off (the demo logins and key are derivable from the code)",
        )
        parser.add_argument("--quiet", action="store_true", help="print only the logins block")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="for the block")

    def handle(self, *args, allow_production, quiet, base_url, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "DEBUG is off, so this looks like production: seed_demo would add fake members "
                "and logins with a known password. Pass --allow-production if you mean it."
            )
        started = time.monotonic()
        with transaction.atomic():
            log, member = self._seed(timezone.now())
        log.append(f"done in {time.monotonic() - started:.1f} s")
        if not quiet:
            self.stdout.write("\n".join(log))
        self.stdout.write(self._block(base_url.rstrip("/"), member))

    def _seed(self, now) -> tuple[list[str], Member | None]:
        log = []
        program = program_get()
        if program.name != PROGRAM_NAME:
            program.name = PROGRAM_NAME
            program.save(update_fields=["name", "updated_at"])
            log.append(f"programme renamed to {PROGRAM_NAME}")
        stores, created = {}, 0
        for code, fields in STORES.items():
            stores[code], was_created = store_create_or_update(code=code, is_active=True, **fields)
            created += was_created
        log.append(f"stores: {created} created, {len(stores) - created} already there")
        log.append(f"POS API key of {API_KEY_STORE}: {self._api_key(stores[API_KEY_STORE])}")

        password = _DemoPassword(demo_password())
        groups = {g.name: g for g in Group.objects.filter(name__in=[s[3] for s in STAFF])}
        changed = 0
        for email, name, _role, group in STAFF:
            if group and group not in groups:
                raise CommandError(f"group {group!r} is missing: run `manage.py migrate` first.")
            user, was_changed = self._user(email, name, password, superuser=group is None)
            changed += was_changed
            if group:
                user.groups.add(groups[group])
            if settings.DEBUG and mfa_required(user):
                changed += self._totp(user)
        member_user, was_changed = self._user(
            MEMBER_LOGIN, DEMO_MEMBER["full_name"], password, staff=False
        )
        log.append(f"logins: {changed + was_changed} created or reset, password checked")

        people = _people(random.Random(SEED), timezone.localdate(now))  # nosec B311  # demo data
        existing = {
            m.phone: m
            for m in Member.objects.filter(phone__in=[p.profile["phone"] for p in people])
        }
        rows, created, demo_member = [], 0, None
        for person in people:
            is_demo = person.profile is DEMO_MEMBER
            member = existing.get(person.profile["phone"])
            if member is None:
                joined_at = now - timedelta(days=person.joined_days_ago)
                store = stores[person.store_code]
                if person.profile["enrolled_via"] != Member.Channel.POS:
                    store = None
                user = member_user if is_demo else None
                try:
                    member = member_create(
                        **person.profile, store=store, joined_at=joined_at, user=user
                    )
                except DomainError as exc:  # an email already taken by someone else's member
                    log.append(f"skipped {person.profile['full_name']}: {exc.message}")
                    continue
                created += 1
            elif member.full_name != person.profile["full_name"]:
                continue  # not a demo member: leave it and its history alone
            if is_demo:
                if member.user_id != member_user.pk:
                    Member.objects.filter(pk=member.pk).update(user=member_user)
                demo_member = member
            rows += _purchases(person, member, stores, now)
        log.append(f"members: {created} created, {len(people) - created} already there")

        demo_purchases = Purchase.objects.filter(external_id__startswith="DEMO-")
        before = demo_purchases.count()
        self._import(rows)
        total = demo_purchases.count()
        log.append(f"purchases: {total - before} added, {total} demo purchases in all")
        rewards = rewards_seed_demo()
        log.append(f"rewards: {len(rewards)} in the demo catalogue")
        return log, demo_member

    @staticmethod
    def _import(rows: list[Purchase]) -> None:
        """Record the history through the import service, so demo members have the points,
        pending points and expiries real history would have given them."""
        by_store: dict = {}
        for purchase in rows:
            by_store.setdefault(purchase.store, []).append(purchase)
        with tempfile.TemporaryDirectory() as folder:
            for store, purchases in by_store.items():
                path = Path(folder) / f"{store.code}.csv"
                with path.open("w", newline="", encoding="utf-8") as out:
                    writer = csv.writer(out)
                    writer.writerow(["external_id", "member", "occurred_at", "amount"])
                    for p in purchases:
                        writer.writerow(
                            [
                                p.external_id,
                                p.member.card_number,
                                p.occurred_at.isoformat(),
                                p.total_amount,
                            ]
                        )
                result = transactions_import(path=path, store=store)
                if not result.ok:
                    raise CommandError(f"demo history for {store.code} was refused: {result}")

    def _api_key(self, store) -> str:
        hashed = key_hash(demo_api_key())
        row = StoreApiKey.objects.filter(prefix=API_KEY_PREFIX).first()
        if row is None:
            StoreApiKey.objects.create(
                store=store, label="demo", prefix=API_KEY_PREFIX, key_hash=hashed
            )
            AuditEntry.objects.create(
                actor_label="seed_demo",
                action="pos.api_key_created",
                data={"store": store.code, "prefix": API_KEY_PREFIX, "label": "demo"},
            )
            return "created"
        if (row.key_hash, row.revoked_at, row.store_id) == (hashed, None, store.pk):
            return "already there"
        # SECRET_KEY changed, or the key was revoked: make the printed key work again.
        row.key_hash, row.revoked_at, row.store = hashed, None, store
        row.save(update_fields=["key_hash", "revoked_at", "store"])
        return "restored"

    def _user(self, email, name, password, *, staff=True, superuser=False) -> tuple[User, bool]:
        """The login ends up active, with these flags and a working demo password."""
        user, created = User.objects.get_or_create(email=email, defaults={"name": name})
        wanted = {"is_active": True, "is_staff": staff, "is_superuser": superuser}
        fields = [f for f, value in wanted.items() if getattr(user, f) != value]
        for field in fields:
            setattr(user, field, wanted[field])
        if password.ensure(user):
            fields.append("password")
        if fields:
            user.save(update_fields=fields)
        return user, created or bool(fields)

    @staticmethod
    def _totp(user: User) -> bool:
        """The login's authenticator app holds the demo secret (True when it had to be set),
        so the printed secret works even after someone set up another app."""
        secret = demo_totp_secret()
        row = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if row is None:
            TOTP.activate(user, secret)
            return True
        if decrypt(row.data["secret"]) == secret:
            return False
        row.data = {**row.data, "secret": encrypt(secret)}
        row.save(update_fields=["data"])
        return True

    def _block(self, base_url: str, member: Member | None) -> str:
        key, rule = demo_api_key(), "=" * 78
        lines = [
            rule,
            f" {PROGRAM_NAME}: demo data ready",
            rule,
            f" Site      {base_url}/",
            f" Staff     {base_url}/staff/",
            f" Portal    {base_url}/me/",
            f" API docs  {base_url}/api/docs/",
            "",
            f" Logins (one password for all): {demo_password()}",
            *(f"   {email:<26} {role}" for email, _name, role, _group in STAFF),
        ]
        if member is not None:
            card = member.card_number_display
            lines.append(f"   {MEMBER_LOGIN:<26} member portal ({member.full_name}, card {card})")
            phone = phone_display(member.phone)
            lines.append(
                f"   {phone:<26} the same member by phone: the password, or 'send me a code'"
            )
            if settings.DEBUG:
                lines.append("   (with DEBUG on the code is printed in the server log, not sent)")
        mfa = [email for email, _name, _role, group in STAFF if group in (None, PROGRAM_ADMIN)]
        lines += ["", f" {' and '.join(mfa)} then ask for an authenticator code:"]
        if settings.DEBUG:
            lines += [
                f"   add the secret {demo_totp_secret()} to an authenticator app",
                f"   (or this URL as a QR code: {demo_totp_url()})",
            ]
        else:
            lines.append("   they set up an authenticator app at their first sign-in.")
        lines += [
            "",
            f" POS API key of {API_KEY_STORE}: {key}",
            f'   curl -H "Authorization: Api-Key {key}" {base_url}/api/v1/pos/program/',
            rule,
        ]
        return "\n".join(lines)
