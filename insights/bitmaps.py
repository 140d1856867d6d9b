"""Member-id sets as Roaring bitmaps, and the one combination the facts need beyond a union:
"members seen in two or more of these disjoint pieces" (the repeat buyers of a period)."""

from __future__ import annotations

from collections.abc import Iterable

from pyroaring import BitMap


def load(data: bytes | memoryview | None) -> BitMap:
    if not data:
        return BitMap()
    return BitMap.deserialize(bytes(data))


def dump(bitmap: BitMap) -> bytes:
    return bitmap.serialize()


class Repeat:
    """Accumulates pieces of a period that do not overlap (different days, months or stores):
    ``seen`` is everyone in any piece, ``repeat`` everyone in two pieces or who already had
    two purchases within one piece."""

    __slots__ = ("repeat", "seen")

    def __init__(self) -> None:
        self.seen = BitMap()
        self.repeat = BitMap()

    def add(self, active: BitMap, repeat: BitMap | None = None) -> None:
        self.repeat |= self.seen & active
        if repeat:
            self.repeat |= repeat
        self.seen |= active

    def extend(self, pieces: Iterable[tuple[BitMap, BitMap | None]]) -> Repeat:
        for active, repeat in pieces:
            self.add(active, repeat)
        return self
