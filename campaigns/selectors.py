"""Reads about campaigns: who is in a segment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet, Window

from campaigns.models import MemberScore, Segment
from campaigns.segment_rules import rules_q
from loyalty.cache import cached
from members.models import Member


def segment_members(segment_or_rules: Segment | dict, *, today: date | None = None) -> QuerySet:
    """The members in a segment (or matching rules, checked first), as one query:
    ``QuerySet[Member]`` to count, slice or join further. Relative dates and ages are taken
    on ``today`` (default: today in the programme's time zone)."""
    rules = segment_or_rules.rules if isinstance(segment_or_rules, Segment) else segment_or_rules
    return Member.objects.filter(rules_q(rules, today=today))


@dataclass(frozen=True)
class SegmentPreview:
    """How many members match, and the first few (the most recently joined)."""

    count: int
    sample: list[Member]


def segment_preview(
    rules: Segment | dict, *, today: date | None = None, sample: int = 10
) -> SegmentPreview:
    """The live count and a sample of the members that ``rules`` match: one query (the count
    is a window over the same rows the sample is cut from). Raises ``ValidationError`` for
    malformed rules (``rules_clean``); it does not look up tier and store codes, which a
    save checks."""
    members = segment_members(rules, today=today)
    if sample <= 0:
        return SegmentPreview(count=members.count(), sample=[])
    rows = list(
        members.annotate(segment_total=Window(Count("pk"))).order_by("-joined_at", "-pk")[:sample]
    )
    return SegmentPreview(count=rows[0].segment_total if rows else 0, sample=rows)


def _segment_rules(code: str) -> dict | None:
    return cached(
        f"segments:{code}",
        lambda: Segment.objects.filter(code=code).values_list("rules", flat=True).first(),
    )


def segment_contains(member: Member | int, segment_code: str) -> bool:
    """Whether the member is in the segment with this code right now (False for a code no
    segment has). One query: the segment's rules are kept in the process cache like the
    tiers (``loyalty.cache``, cleared when a segment is saved), plus one to read them when
    they are not there. For the rewards' segment checker."""
    rules = _segment_rules(segment_code)
    if rules is None:
        return False
    member_id = member if isinstance(member, int) else member.pk
    return segment_members(rules).filter(pk=member_id).exists()


def member_score(member: Member | int) -> MemberScore | None:
    """The member's nightly scores and stage, or None before the first run that saw them."""
    member_id = member if isinstance(member, int) else member.pk
    return MemberScore.objects.filter(pk=member_id).first()
