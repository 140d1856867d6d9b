"""Reads about campaigns: who is in a segment; a campaign's audience, its approval, the
sends due, its figures; a member's notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum, Window

from campaigns.models import (
    Campaign,
    CampaignPolicy,
    MemberScore,
    Notification,
    Segment,
    Send,
)
from campaigns.segment_rules import rules_q
from loyalty.cache import cached
from members.models import Member, Purchase
from rewards.models import Voucher


def segment_members(segment_or_rules: Segment | dict, *, today: date | None = None) -> QuerySet:
    """The members in a segment (or matching rules, checked first), as one query:
    ``QuerySet[Member]`` to count, slice or join further. Relative dates and ages are taken
    on ``today`` (default: today in the programme's time zone). An erased member is in no
    segment: nobody is left to reach (their rows stay only for the books)."""
    rules = segment_or_rules.rules if isinstance(segment_or_rules, Segment) else segment_or_rules
    return Member.objects.filter(rules_q(rules, today=today)).exclude(status=Member.Status.ERASED)


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


# ---------------------------------------------------------------------------------------------
# Campaigns


def campaign_policy_get() -> CampaignPolicy:
    """The campaign policy (one row, created by migration; its defaults if the row is gone)."""
    return CampaignPolicy.objects.filter(pk=CampaignPolicy.SINGLETON_ID).first() or CampaignPolicy()


def audience_rules(campaign: Campaign) -> dict:
    """The campaign's audience as segment rules (every member, some tiers, a segment's)."""
    if campaign.audience == Campaign.Audience.SEGMENT and campaign.segment_id:
        return campaign.segment.rules
    if campaign.audience == Campaign.Audience.TIERS:
        codes = sorted(tier.code for tier in campaign.tiers.all())
        return {"op": "and", "rules": [{"field": "tier", "in": codes}]}
    return {"op": "and", "rules": []}


def audience_members(campaign: Campaign, *, today: date | None = None) -> QuerySet:
    """The members the campaign may reach (before its trigger picks the day's), as one
    query over ``Member``. An audience of tiers with no tier chosen is nobody."""
    if campaign.audience == Campaign.Audience.TIERS and not campaign.tiers.exists():
        return Member.objects.none()
    return segment_members(audience_rules(campaign), today=today)


def audience_count(campaign: Campaign, *, today: date | None = None) -> int:
    return audience_members(campaign, today=today).count()


def approval_needed(campaign: Campaign, *, count: int | None = None) -> bool:
    """Whether the campaign needs a programme admin's approval before it is scheduled: it
    reaches more members than ``CAMPAIGNS_APPROVAL_THRESHOLD`` and nobody approved it."""
    if campaign.approved_at is not None:
        return False
    count = audience_count(campaign) if count is None else count
    return count > settings.CAMPAIGNS_APPROVAL_THRESHOLD


def sends_claimable_q(now: datetime) -> Q:
    """Sends a worker may take now: queued and due, or claimed by a worker that has not
    finished them within ``CAMPAIGNS_CLAIM_TIMEOUT`` (it died)."""
    stale = now - timedelta(seconds=settings.CAMPAIGNS_CLAIM_TIMEOUT)
    return Q(status=Send.Status.QUEUED, not_before__lte=now) | Q(
        status=Send.Status.SENDING, claimed_at__lt=stale
    )


DELIVERING_STATES = (Campaign.State.RUNNING, Campaign.State.FINISHED)


def campaigns_with_due_sends(*, now: datetime, busy_seconds: int = 120) -> dict[int, int]:
    """Campaign id -> number of sends a worker may take now, for the campaigns that deliver
    (running or finished, not paused) and that no worker is busy with (no send claimed in
    the last ``busy_seconds``, nor within the claim timeout: a stale claim is no one's)."""
    busy_seconds = min(busy_seconds, settings.CAMPAIGNS_CLAIM_TIMEOUT)
    busy = Send.objects.filter(
        campaign=OuterRef("campaign_id"),
        status=Send.Status.SENDING,
        claimed_at__gte=now - timedelta(seconds=busy_seconds),
    )
    rows = (
        Send.objects.filter(sends_claimable_q(now), campaign__state__in=DELIVERING_STATES)
        .exclude(Exists(busy))
        .values("campaign_id")
        .annotate(due=Count("id"))
        .order_by("campaign_id")
    )
    return {row["campaign_id"]: row["due"] for row in rows}


@dataclass(frozen=True)
class CampaignFigures:
    """What a campaign did. ``audience``: sends created (one per member and occurrence);
    ``skipped``: by reason; ``open``: still to send (queued, deferred, being sent)."""

    audience: int
    members: int
    sent: int
    failed: int
    skipped: dict[str, int]
    open: int
    points_granted: int
    vouchers_issued: int
    vouchers_used: int
    revenue: Decimal
    purchases: int
    by_channel: dict[str, dict[str, int]]

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


REVENUE_DAYS = 30


def campaign_figures(campaign: Campaign) -> CampaignFigures:
    """The campaign's figures in three aggregate queries: the sends (by status, skip
    reason and channel, points and vouchers), the vouchers it issued that were used, and the
    revenue from its audience: net spend (total minus returns) of the purchases each member
    made in the 30 days after a send of the campaign was created for them (a purchase
    counts once, whatever the number of sends)."""
    sends = Send.objects.filter(campaign=campaign)
    statuses = Send.Status
    aggregates = {
        "audience": Count("id"),
        "members": Count("member_id", distinct=True),
        "sent": Count("id", filter=Q(status=statuses.SENT)),
        "failed": Count("id", filter=Q(status=statuses.FAILED)),
        "open": Count("id", filter=Q(status__in=[statuses.QUEUED, statuses.SENDING])),
        "points": Sum("points_granted"),
        "vouchers": Count("voucher_id"),
    }
    for reason in Send.SkipReason.values:
        aggregates[f"skip_{reason}"] = Count(
            "id", filter=Q(status=statuses.SKIPPED, skip_reason=reason)
        )
    for channel, field in Send.CHANNEL_FIELDS.items():
        for outcome in ("sent", "no_consent", "no_contact", "failed"):
            aggregates[f"{channel}__{outcome}"] = Count("id", filter=Q(**{field: outcome}))
    row = sends.aggregate(**aggregates)
    used = Voucher.objects.filter(campaign_send__campaign=campaign, status=Voucher.Status.USED)
    in_window = Send.objects.filter(
        campaign=campaign,
        member_id=OuterRef("member_id"),
        created_at__lte=OuterRef("occurred_at"),
        created_at__gt=OuterRef("occurred_at") - timedelta(days=REVENUE_DAYS),
    )
    revenue = Purchase.objects.filter(Exists(in_window)).aggregate(
        amount=Sum(F("total_amount") - F("returned_amount")), count=Count("id")
    )
    return CampaignFigures(
        audience=row["audience"],
        members=row["members"],
        sent=row["sent"],
        failed=row["failed"],
        skipped={
            reason: row[f"skip_{reason}"]
            for reason in Send.SkipReason.values
            if row[f"skip_{reason}"]
        },
        open=row["open"],
        points_granted=row["points"] or 0,
        vouchers_issued=row["vouchers"],
        vouchers_used=used.count(),
        revenue=revenue["amount"] or Decimal(0),
        purchases=revenue["count"],
        by_channel={
            channel: {
                outcome: row[f"{channel}__{outcome}"]
                for outcome in ("sent", "no_consent", "no_contact", "failed")
            }
            for channel in Send.CHANNEL_FIELDS
        },
    )


# ---------------------------------------------------------------------------------------------
# The member's notifications (portal)


def notifications_of_member(member: Member | int) -> QuerySet[Notification]:
    """The member's in-app notifications, newest first."""
    member_id = member if isinstance(member, int) else member.pk
    return Notification.objects.filter(member_id=member_id).order_by("-created_at", "-id")
