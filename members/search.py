"""Member search for staff (``members.selectors.member_search``): filled in next."""

from __future__ import annotations


def search(query: str, *, limit: int = 20) -> list:
    return []
