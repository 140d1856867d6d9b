"""A small reader for gettext .po files, so tests need no GNU gettext and no extra package.

It understands what Django's makemessages and hand-written catalogues contain: translator
and extracted comments, references, flags (``#, fuzzy, python-format``), ``msgctxt``,
``msgid``, ``msgid_plural``, ``msgstr`` and ``msgstr[n]``, strings split over several quoted
lines, and C escapes (``\\n``, ``\\t``, ``\\"``, ``\\\\``, octal and hex). Obsolete entries
(``#~``) and previous-msgid comments (``#|``) are skipped, as msgfmt does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "?": "?",
}
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]+|[0-7]{1,3}|.)", re.DOTALL)
_KEYWORD_RE = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


class PoSyntaxError(ValueError):
    pass


@dataclass
class PoEntry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def is_plural(self) -> bool:
        return self.msgid_plural is not None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translations(self) -> list[str]:
        """Every msgstr of the entry: one for a singular entry, one per form for a plural."""
        if self.is_plural:
            return [self.msgstr_plural[n] for n in sorted(self.msgstr_plural)]
        return [self.msgstr]

    @property
    def translated(self) -> bool:
        return bool(self.translations) and all(self.translations)

    @property
    def key(self) -> str:
        """The msgid as a compiled catalogue stores it: ``context\\x04msgid`` with a context."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"

    def __str__(self) -> str:
        ctx = f" (context {self.msgctxt!r})" if self.msgctxt is not None else ""
        return f"line {self.line}: {self.msgid!r}{ctx}"


def unquote(token: str) -> str:
    """The value of one C string literal as written in a .po file: ``"a\\"b"`` -> ``a"b``."""
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise PoSyntaxError(f"not a quoted string: {token!r}")
    body = token[1:-1]

    def replace(match: re.Match) -> str:
        esc = match.group(1)
        if esc[0] == "x":
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567":
            return chr(int(esc, 8))
        if esc in _ESCAPES:
            return _ESCAPES[esc]
        raise PoSyntaxError(f"unknown escape \\{esc} in {token!r}")

    # An unescaped quote inside the body means the line held more than one string.
    if re.search(r'(?<!\\)(?:\\\\)*"', body):
        raise PoSyntaxError(f"stray quote in {token!r}")
    return _ESCAPE_RE.sub(replace, body)


class _Builder:
    def __init__(self) -> None:
        self.entries: list[PoEntry] = []
        self._reset()

    def _reset(self) -> None:
        self.flags: set[str] = set()
        self.references: list[str] = []
        self.fields: dict[str, str] = {}
        self.plural: dict[int, str] = {}
        self.start = 0

    @property
    def has_msgstr(self) -> bool:
        return "msgstr" in self.fields or bool(self.plural)

    @property
    def started(self) -> bool:
        return bool(self.fields or self.plural)

    def finish(self, lineno: int) -> None:
        if not self.started:
            # Comments with no entry after them (e.g. at the end of the file).
            self._reset()
            return
        if "msgid" not in self.fields:
            raise PoSyntaxError(f"line {self.start}: entry without msgid")
        if not self.has_msgstr:
            raise PoSyntaxError(f"line {self.start}: entry without msgstr")
        if "msgid_plural" in self.fields and not self.plural:
            raise PoSyntaxError(f"line {self.start}: plural entry needs msgstr[n]")
        if "msgid_plural" not in self.fields and self.plural:
            raise PoSyntaxError(f"line {self.start}: msgstr[n] without msgid_plural")
        self.entries.append(
            PoEntry(
                msgid=self.fields["msgid"],
                msgctxt=self.fields.get("msgctxt"),
                msgid_plural=self.fields.get("msgid_plural"),
                msgstr=self.fields.get("msgstr", ""),
                msgstr_plural=dict(self.plural),
                flags=self.flags,
                references=self.references,
                line=self.start,
            )
        )
        self._reset()


def parse(text: str) -> list[PoEntry]:
    """Every entry of a .po file's text, the header (msgid "") included, in file order."""
    builder = _Builder()
    current: tuple[str, int | None] | None = None  # the keyword continuation lines extend
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if builder.has_msgstr:
                builder.finish(lineno)
            current = None
            if line.startswith("#~") or line.startswith("#|"):
                continue
            if line.startswith("#,"):
                builder.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("#:"):
                builder.references += line[2:].split()
            continue
        if line.startswith('"'):
            if current is None:
                raise PoSyntaxError(f"line {lineno}: string continues no keyword")
            name, index = current
            if index is None:
                builder.fields[name] += unquote(line)
            else:
                builder.plural[index] += unquote(line)
            continue
        match = _KEYWORD_RE.match(line)
        if not match:
            raise PoSyntaxError(f"line {lineno}: cannot read {raw!r}")
        keyword, index, token = match.group(1), match.group(2), match.group(3)
        name = "msgstr" if keyword.startswith("msgstr") else keyword
        if name in ("msgctxt", "msgid") and builder.has_msgstr:
            builder.finish(lineno)
        if not builder.started:
            builder.start = lineno
        value = unquote(token)
        if index is not None:
            if int(index) in builder.plural:
                raise PoSyntaxError(f"line {lineno}: duplicate {keyword}")
            builder.plural[int(index)] = value
            current = ("msgstr", int(index))
        else:
            if name in builder.fields:
                raise PoSyntaxError(f"line {lineno}: duplicate {keyword}")
            builder.fields[name] = value
            current = (name, None)
    builder.finish(0)
    return builder.entries


def read(path: str | Path) -> list[PoEntry]:
    return parse(Path(path).read_text(encoding="utf-8"))


def header(entries: list[PoEntry]) -> dict[str, str]:
    """The header entry's fields (``Language``, ``Plural-Forms``...)."""
    for entry in entries:
        if entry.msgid == "" and entry.msgctxt is None:
            pairs = (line.partition(":") for line in entry.msgstr.splitlines() if line.strip())
            return {k.strip(): v.strip() for k, _sep, v in pairs}
    return {}


def messages(entries: list[PoEntry]) -> list[PoEntry]:
    """The entries that are messages, i.e. all but the header."""
    return [e for e in entries if not (e.msgid == "" and e.msgctxt is None)]
