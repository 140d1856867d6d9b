"""Segment restriction of rewards. Segments belong to ``campaigns``, which imports
``rewards`` and not the other way round, so campaigns registers the function that answers
"is this member in that segment?" here (from its ``AppConfig.ready()``)::

    rewards.segments.register_checker(lambda member, segment_code: ...)

Until a checker is registered, a reward restricted to a segment is available to nobody.
"""

from __future__ import annotations

from collections.abc import Callable

from members.models import Member

SegmentChecker = Callable[[Member, str], bool]

_checker: SegmentChecker | None = None


def register_checker(fn: SegmentChecker) -> SegmentChecker:
    """Set the checker (registering again replaces it). Usable as a decorator."""
    global _checker
    _checker = fn
    return fn


def unregister_checker() -> None:
    global _checker
    _checker = None


def member_in_segment(member: Member, segment_code: str) -> bool:
    """True when a checker is registered and says the member is in the segment."""
    if _checker is None:
        return False
    return bool(_checker(member, segment_code))
