"""Member search for staff: ``members.selectors.member_search`` (the console's find page
and the admin's member list).

What a query finds, in this order, at most ``limit`` members:

1. identifiers, exactly: an email in any case, a card number with or without spaces or
   dashes, a phone in any common form (``phone_normalize``: 0901234567, +84 90 123 4567,
   84901234567, 0901.234.567); each is one unique-index lookup;
2. names, without accents or case and in any word order: every word of the query must
   begin a word of the name ("nguyen van a" finds "Nguyễn Văn A", "Văn A Nguyễn" and
   "Nguyễn Văn Anh"); names holding every query word as a whole word come before names
   where a word only begins one, and within each, the names most like the query (trigram
   similarity) first.

Erased members are never found: erasure clears their name, phone and email and replaces
their card number (``members.services.privacy.erased_identifier``) so that nothing typed
finds them. Blocked members are found (staff unblock them from their page).

On PostgreSQL the names are compared through ``members_name_key(full_name)`` (migration
``0016_member_name_search``: unaccent, lower case, spaces at both ends), the word tests are
``LIKE '% word %'`` / ``LIKE '% word%'`` served by the trigram GIN index on that expression,
and ``similarity()`` is pg_trgm's. On SQLite the same SQL runs against Python twins of both
functions registered on each connection (``sqlite_functions_register``), so the two
databases give the same results (a full scan there, which SQLite's small databases afford).

A name query matching very many members (one family name alone: "nguyen") ranks a bounded
sample of ``CANDIDATES`` per kind of match rather than every match: the list then shows
some of them and staff type more of the name.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db.models import F, FloatField, Func, Q, TextField, Value
from django.db.models.functions import Lower

from members.identifiers import (
    CARD_NUMBER_LENGTH,
    card_number_clean,
    phone_looks_like,
    phone_normalize,
)

MAX_QUERY_LENGTH = 200  # a longer query is cut: nobody types more to find one person
MAX_WORDS = 6
CANDIDATES = 1000  # members ranked per kind of name match, at most

# The characters the key turns into spaces (besides removing accents): the same list as the
# database function's translate() in migration 0016.
_SEPARATORS = {ord(ch): " " for ch in "-.,'\u2019_/()"}
_STROKES = {ord("đ"): "d", ord("Đ"): "D"}  # Unicode does not decompose đ: no mark to drop
_WORD = re.compile(r"[^\W_]+")


class NameKey(Func):
    """``members_name_key(name)``: the name as search compares it (`` nguyen van a ``)."""

    function = "members_name_key"
    output_field = TextField()


class Similarity(Func):
    """pg_trgm's ``similarity(a, b)`` (on SQLite, its Python twin)."""

    function = "similarity"
    output_field = FloatField()


def _unaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_STROKES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_key(name: str | None) -> str | None:
    """What ``members_name_key`` gives: lower case, no accents, đ as d, a few separators as
    spaces, one space at each end. ``None`` for ``None`` (the SQL function is STRICT)."""
    if name is None:
        return None
    return " " + _unaccent(name.translate(_SEPARATORS)).lower() + " "


def query_words(query: str) -> list[str]:
    """The words of a name query as keys compare them: no accents, lower case, letters and
    digits only; at most ``MAX_WORDS``."""
    text = _unaccent((query or "")[:MAX_QUERY_LENGTH]).lower()
    return _WORD.findall(text)[:MAX_WORDS]


def _trigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def trigram_similarity(a: str | None, b: str | None) -> float | None:
    """pg_trgm's ``similarity``: shared trigrams over all trigrams of the two texts, each
    word padded with two spaces before and one after."""
    if a is None or b is None:
        return None
    left, right = _trigrams(a), _trigrams(b)
    if not left or not right:
        return 0.0
    shared = len(left & right)
    return shared / (len(left) + len(right) - shared)


def sqlite_functions_register(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: SQLite gets the search's two SQL functions."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("members_name_key", 1, name_key, deterministic=True)
    connection.connection.create_function("similarity", 2, trigram_similarity, deterministic=True)


def _identifier_matches(text: str) -> list:
    from members.models import Member

    members = Member.objects.exclude(status=Member.Status.ERASED)
    found = []
    if "@" in text:
        found += list(members.annotate(email_ci=Lower("email")).filter(email_ci=text.lower())[:1])
        return found
    cleaned = card_number_clean(text)
    if cleaned.isdigit() and len(cleaned) == CARD_NUMBER_LENGTH:
        found += list(members.filter(card_number=cleaned)[:1])
    if phone_looks_like(text):
        try:
            phone = phone_normalize(text)
        except ValidationError:
            phone = None
        if phone:
            found += [m for m in members.filter(phone=phone)[:1] if m not in found]
    return found


def _name_matches(words: list[str], *, limit: int, exclude: set[int]) -> list:
    """Whole-word matches first, then the members where some word only begins a name word."""
    from members.models import Member

    target = name_key(" ".join(words))
    keyed = Member.objects.exclude(status=Member.Status.ERASED).annotate(
        search_key=NameKey(F("full_name"))
    )
    whole = Q()
    begins = Q()
    for word in words:
        whole &= Q(search_key__contains=f" {word} ")
        begins &= Q(search_key__contains=f" {word}")
    found: list = []
    seen = set(exclude)
    # A whole-word match also begins words: the second pass leaves out what the first found
    # (when the first found fewer than ``limit``, it found every whole-word match).
    for condition in (whole, begins):
        if len(found) >= limit:
            break
        candidates = keyed.filter(condition).exclude(pk__in=seen)
        ranked = (
            Member.objects.filter(pk__in=candidates.order_by().values("pk")[:CANDIDATES])
            .annotate(rank=Similarity(NameKey(F("full_name")), Value(target)))
            .order_by("-rank", "pk")[: limit - len(found)]
        )
        for member in ranked:
            found.append(member)
            seen.add(member.pk)
    return found


def search(query: str, *, limit: int = 20) -> list:
    # Control characters (a NUL, which PostgreSQL refuses in a string) are nobody's name.
    text = "".join(ch if ch.isprintable() else " " for ch in (query or "")[:MAX_QUERY_LENGTH])
    text = " ".join(text.split())
    if not text or limit <= 0:
        return []
    found = _identifier_matches(text)
    words = query_words(text)
    if "@" not in text and any(not word.isdigit() for word in words):
        found += _name_matches(words, limit=limit - len(found), exclude={m.pk for m in found})
    return found[:limit]
