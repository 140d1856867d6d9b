"""Fan-out: the sends of a campaign for a day, created set-based.

Each trigger is a query that yields (member id, occurrence) for the day, restricted to the
campaign's audience; one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` per query turns it
into sends. The unique (campaign, member, occurrence) makes a second run of the same day,
or an overlapping window, create nothing: the occurrence is what makes a send once.

======================  ===============================================  ====================
trigger                 who, for the day ``today``                        occurrence
======================  ===============================================  ====================
one-off                 the audience, once ``send_at`` has come           ``once``
birthday                born on this day (29/2: on 28/2 in other years),  ``2026``
                        or in this month on its first day (the policy)
holiday                 the audience, when ``today + days`` is the day    ``2026-02-17``
first purchase          first purchase ever in the window, after start    ``first``
tier upgrade            each upgrade in the window, after the start       ``tierchange:ID``
coming tier downgrade   review in ``days`` (30) and short of the tier     ``review:DATE``
points expiring         available points expiring ``days`` (30) ahead     ``points:DATE``
voucher expiring        an unused voucher's last day ``days`` (7) ahead   ``voucher:ID:DATE``
win-back                last purchase ``days`` (90) ago                   ``winback:PURCHASE``
======================  ===============================================  ====================

Event triggers look at a window of ``EVENT_LOOKBACK_DAYS`` days before ``today`` as well, so a
day the job did not run is caught up the next day (the occurrence keeps it once).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from campaigns.models import Campaign, CampaignPolicy, Send
from campaigns.observances import holiday_date
from campaigns.selectors import audience_members, campaign_policy_get
from members.models import Purchase
from members.selectors import points_expiring_between
from rewards.selectors import vouchers_expiring_on
from tiers.selectors import tier_downgrades_due, tier_upgrades_between

EVENT_LOOKBACK_DAYS = 2
ROWS_CHUNK = 500
SEND = Send._meta.db_table
Trigger = Campaign.Trigger


def start_of(day: date) -> datetime:
    """The first instant of a local day in the programme's time zone."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _text(expression) -> Cast:
    return Cast(expression, output_field=CharField())


def _channel_values(campaign: Campaign) -> list[str]:
    pending = Send.ChannelStatus.PENDING
    return [pending if on else "" for on in (campaign.by_email, campaign.by_sms, campaign.in_app)]


def _insert_select(campaign: Campaign, rows: QuerySet, *, now: datetime) -> int:
    """Insert a send for every (m, o) row of ``rows`` (a ``values(m=..., o=...)``
    queryset) that does not exist yet; returns how many were created."""
    rows = rows.order_by()  # no model ordering to sort a whole audience for nothing
    inner_sql, inner_params = rows.query.get_compiler(connection=connection).as_sql()
    stamp = connection.ops.adapt_datetimefield_value(now)
    # SQLite needs a WHERE in an INSERT ... SELECT ... ON CONFLICT (parsing ambiguity).
    sql = f"""
        INSERT INTO {SEND} (
            campaign_id, member_id, occurrence, status, skip_reason, email_status,
            sms_status, in_app_status, not_before, claim_token, attempts, reward_done,
            points_granted, last_error, created_at
        )
        SELECT %s, src.m, src.o, %s, '', %s, %s, %s, %s, '', 0, %s, 0, '', %s
        FROM ({inner_sql}) src
        WHERE src.m IS NOT NULL
        ON CONFLICT (campaign_id, member_id, occurrence) DO NOTHING
    """  # noqa: S608  # nosec B608  # table names from model metadata, values are parameters
    params = [
        campaign.pk,
        Send.Status.QUEUED,
        *_channel_values(campaign),
        stamp,
        False,
        stamp,
        *inner_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _insert_rows(campaign: Campaign, rows: Iterable[tuple[int, str]], *, now: datetime) -> int:
    """The same for rows computed in Python (a selector that returns a list)."""
    rows = sorted(set(rows))
    created = 0
    stamp = connection.ops.adapt_datetimefield_value(now)
    fixed = [Send.Status.QUEUED, *_channel_values(campaign), stamp, False, stamp]
    for start in range(0, len(rows), ROWS_CHUNK):
        chunk = rows[start : start + ROWS_CHUNK]
        values = ", ".join(
            ["(%s, %s, %s, %s, '', %s, %s, %s, %s, '', 0, %s, 0, '', %s)"] * len(chunk)
        )
        params = []
        for member_id, occurrence in chunk:
            params += [campaign.pk, member_id, occurrence, *fixed]
        sql = f"""
            INSERT INTO {SEND} (
                campaign_id, member_id, occurrence, status, skip_reason, email_status,
                sms_status, in_app_status, not_before, claim_token, attempts, reward_done,
                points_granted, last_error, created_at
            )
            VALUES {values}
            ON CONFLICT (campaign_id, member_id, occurrence) DO NOTHING
        """  # noqa: S608  # nosec B608  # table names from model metadata, values are parameters
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            created += max(cursor.rowcount, 0)
    return created


# ---------------------------------------------------------------------------------------------
# What each trigger selects for a day: (member id, occurrence) as a values queryset


def _members(audience: QuerySet, occurrence: str) -> QuerySet:
    return audience.values(m=F("pk"), o=Value(occurrence, output_field=CharField()))


def birthday_filter(today: date, timing: str) -> dict | None:
    """Who a birthday campaign greets on ``today``, as lookups on ``birth_date`` (a list of
    alternatives), or None on a day it greets nobody. On the day: born on this month and
    day; on 28 February of a year without 29 February, those born on 29 February too. On
    the first day of the month: born in this month."""
    if timing == CampaignPolicy.BirthdayTiming.MONTH_START:
        return {"month": [today.month]} if today.day == 1 else None
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    return {"days": days}


def _birthday(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    wanted = birthday_filter(today, campaign_policy_get().birthday_timing)
    if wanted is None:
        return []
    if "month" in wanted:
        members = audience.filter(birth_date__month=today.month)
        return [_members(members, str(today.year))]
    return [
        _members(audience.filter(birth_date__month=month, birth_date__day=day), str(today.year))
        for month, day in wanted["days"]
    ]


def _holiday(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    target = today + timedelta(days=campaign.days_or_default)
    if holiday_date(campaign.holiday, target.year) != target:
        return []
    return [_members(audience, target.isoformat())]


def _event_window(campaign: Campaign, today: date) -> tuple[datetime, datetime]:
    """Events from the start of the look-back window (never before the campaign started)
    to the end of ``today``."""
    start = max(start_of(today - timedelta(days=EVENT_LOOKBACK_DAYS)), campaign.starts_at)
    return start, start_of(today + timedelta(days=1))


def _first_purchase(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    start, end = _event_window(campaign, today)
    earlier = Purchase.objects.filter(
        member_id=OuterRef("member_id"), occurred_at__lt=OuterRef("occurred_at")
    )
    firsts = (
        Purchase.objects.filter(
            occurred_at__gte=start, occurred_at__lt=end, member_id__in=audience.values("pk")
        )
        .exclude(Exists(earlier))
        .values(m=F("member_id"), o=Value("first", output_field=CharField()))
        .distinct()
    )
    return [firsts]


def _tier_upgrade(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    start, end = _event_window(campaign, today)
    upgrades = (
        tier_upgrades_between(start, end)
        .filter(member_id__in=audience.values("pk"))
        .order_by()
        .values(m=F("member_id"), o=Concat(Value("tierchange:"), _text("id")))
    )
    return [upgrades]


def _tier_downgrade_rows(campaign: Campaign, audience: QuerySet, today: date) -> set:
    notices = []
    for back in range(EVENT_LOOKBACK_DAYS, -1, -1):
        notices += tier_downgrades_due(
            today=today - timedelta(days=back), days_ahead=campaign.days_or_default
        )
    wanted = {notice.member_id for notice in notices}
    allowed = set()
    ids = sorted(wanted)
    for start in range(0, len(ids), ROWS_CHUNK):
        allowed.update(
            audience.filter(pk__in=ids[start : start + ROWS_CHUNK]).values_list("pk", flat=True)
        )
    return {
        (notice.member_id, f"review:{notice.review_on.isoformat()}")
        for notice in notices
        if notice.member_id in allowed and notice.review_on > today
    }


def _points_expiring(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    last = today + timedelta(days=campaign.days_or_default)
    expiring = (
        points_expiring_between(last - timedelta(days=EVENT_LOOKBACK_DAYS), last)
        .filter(member_id__in=audience.values("pk"))
        .values(m=F("member_id"))
        .annotate(o=Concat(Value("points:"), _text("first_on")))
        .values("m", "o")
    )
    return [expiring]


def _voucher_expiring(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    last = today + timedelta(days=campaign.days_or_default)
    return [
        vouchers_expiring_on(last - timedelta(days=back))
        .filter(member_id__in=audience.values("pk"))
        .order_by()
        .values(
            m=F("member_id"),
            o=Concat(Value("voucher:"), _text("id"), Value(":"), _text("valid_until")),
        )
        for back in range(EVENT_LOOKBACK_DAYS + 1)
        if last - timedelta(days=back) >= today
    ]


def _win_back(campaign: Campaign, audience: QuerySet, today: date) -> list[QuerySet]:
    """Members whose last purchase (not fully returned) was ``days`` days ago: on the local
    day ``today - days`` (or the look-back days before it)."""
    last_day = today - timedelta(days=campaign.days_or_default)
    start = start_of(last_day - timedelta(days=EVENT_LOOKBACK_DAYS))
    end = start_of(last_day + timedelta(days=1))
    later = Purchase.objects.filter(
        member_id=OuterRef("member_id"),
        occurred_at__gt=OuterRef("occurred_at"),
        returned_amount__lt=F("total_amount"),
    )
    lasts = (
        Purchase.objects.filter(
            occurred_at__gte=start,
            occurred_at__lt=end,
            returned_amount__lt=F("total_amount"),
            member_id__in=audience.values("pk"),
        )
        .exclude(Exists(later))
        .values(m=F("member_id"), o=Concat(Value("winback:"), _text("id")))
    )
    return [lasts]


_SOURCES = {
    Trigger.BIRTHDAY: _birthday,
    Trigger.HOLIDAY: _holiday,
    Trigger.FIRST_PURCHASE: _first_purchase,
    Trigger.TIER_UPGRADE: _tier_upgrade,
    Trigger.POINTS_EXPIRING: _points_expiring,
    Trigger.VOUCHER_EXPIRING: _voucher_expiring,
    Trigger.WIN_BACK: _win_back,
}


def campaign_fan_out(*, campaign: Campaign, today: date, now: datetime | None = None) -> int:
    """Create the sends of ``campaign`` for ``today`` (a one-off: for its one time); returns
    how many were created. Set-based, one statement per query of the trigger; running it
    again creates nothing. The caller decides whether the campaign is due (running, within
    its dates); this only selects and inserts."""
    now = now or timezone.now()
    audience = audience_members(campaign, today=today)
    if campaign.trigger == Trigger.ONE_OFF:
        return _insert_select(campaign, _members(audience, "once"), now=now)
    if campaign.trigger == Trigger.TIER_DOWNGRADE:
        return _insert_rows(campaign, _tier_downgrade_rows(campaign, audience, today), now=now)
    source = _SOURCES[campaign.trigger]
    return sum(
        _insert_select(campaign, rows, now=now) for rows in source(campaign, audience, today)
    )


__all__ = ["EVENT_LOOKBACK_DAYS", "birthday_filter", "campaign_fan_out", "start_of"]
