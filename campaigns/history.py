"""What the points history says about campaigns (found by ``members.selectors``'
autodiscovery): a bonus paid by a campaign send (``send:<id>``) names its campaign, and a
birthday campaign's bonus reads as the birthday bonus. One query per page, by primary key."""

from __future__ import annotations

from django.utils.translation import gettext as _

from campaigns.models import Campaign, Send
from members.models import PointEntry
from members.selectors import history_describer_register


def _send_id(entry: PointEntry) -> int | None:
    key = entry.idempotency_key or ""
    if entry.kind != PointEntry.Kind.BONUS or not key.startswith("send:"):
        return None
    number = key.removeprefix("send:")
    return int(number) if number.isdigit() else None


def describe(entries: list[PointEntry]) -> dict[int, dict]:
    by_send = {send_id: e for e in entries if (send_id := _send_id(e)) is not None}
    if not by_send:
        return {}
    sends = Send.objects.filter(
        pk__in=by_send, member_id__in={e.member_id for e in by_send.values()}
    ).select_related("campaign")
    words: dict[int, dict] = {}
    for send in sends:
        entry = by_send[send.pk]
        if send.member_id != entry.member_id:
            continue
        birthday = send.campaign.trigger == Campaign.Trigger.BIRTHDAY
        words[entry.pk] = {
            "title": _("Birthday bonus") if birthday else _("Campaign bonus"),
            "detail": send.campaign.name,
        }
    return words


history_describer_register(describe)
