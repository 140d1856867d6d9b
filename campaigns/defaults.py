"""The default programme's campaigns, dates and policy.

Created by migration for a fresh database and ensured again after every ``migrate`` or
``flush`` (like the tiers), each only when its table is empty, so staff edits and deletions
of single rows stand:

- the campaign policy (birthdays greeted on the day);
- the programme dates the ``holidays`` package lacks: 8/3, 20/10, 20/11, 24/12, 25/12;
- an active birthday campaign: in-app and email, bonus points by tier (each tier's birthday
  points: Bronze 50, Silver 100, Gold 200, Diamond 500);
- a Tết campaign as a draft (3 days before Tết, in-app, email and SMS, no reward) for
  marketers to finish.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

# code, Vietnamese name, English name, month, day
PROGRAM_DATES = [
    ("womens-day", "Ngày Quốc tế Phụ nữ", "International Women's Day", 3, 8),
    ("vietnamese-womens-day", "Ngày Phụ nữ Việt Nam", "Vietnamese Women's Day", 10, 20),
    ("teachers-day", "Ngày Nhà giáo Việt Nam", "Vietnamese Teachers' Day", 11, 20),
    ("christmas-eve", "Đêm Giáng sinh", "Christmas Eve", 12, 24),
    ("christmas", "Lễ Giáng sinh", "Christmas Day", 12, 25),
]

BIRTHDAY = {
    "code": "birthday",
    "name": "Chúc mừng sinh nhật",
    "description": "Lời chúc và điểm thưởng sinh nhật theo hạng (điểm sinh nhật của từng hạng).",
    "state": "running",
    "audience": "all",
    "trigger": "birthday",
    "by_email": True,
    "by_sms": False,
    "in_app": True,
    "reward_kind": "tier_points",
}
BIRTHDAY_MESSAGES = {
    "vi": (
        "Chúc mừng sinh nhật {name}!",
        "Chúc mừng sinh nhật {name}!\n\n"
        "Cảm ơn bạn đã luôn đồng hành cùng chúng tôi. Nhân dịp sinh nhật, chúng tôi tặng bạn "
        "{points} điểm thưởng của hạng {tier}, dùng được đến hết ngày {expiry_date}.\n\n"
        "Chúc bạn một ngày thật vui!",
        "",
    ),
    "en": (
        "Happy birthday, {name}!",
        "Happy birthday, {name}!\n\n"
        "Thank you for being with us. For your birthday we give you {points} bonus points of "
        "the {tier} tier, to use until {expiry_date}.\n\n"
        "Have a wonderful day!",
        "",
    ),
}
TET = {
    "code": "tet",
    "name": "Chúc mừng năm mới (Tết)",
    "description": "Bản nháp: chọn phần thưởng, ngân sách và kiểm tra lời chúc trước khi lên lịch.",
    "state": "draft",
    "audience": "all",
    "trigger": "holiday",
    "holiday": "tet",
    "days": 3,
    "by_email": True,
    "by_sms": True,
    "in_app": True,
    "reward_kind": "none",
}
TET_MESSAGES = {
    "vi": (
        "Chúc mừng năm mới, {name}!",
        "{name} thân mến,\n\nChúc bạn và gia đình một năm mới an khang, thịnh vượng, vạn sự "
        "như ý! Cảm ơn bạn đã đồng hành cùng chúng tôi trong năm qua.",
        "Chuc mung nam moi {name}! Chuc ban va gia dinh an khang thinh vuong.",
    ),
    "en": (
        "Happy Lunar New Year, {name}!",
        "Dear {name},\n\nWe wish you and your family a happy, healthy and prosperous Lunar "
        "New Year! Thank you for being with us this year.",
        "Happy Lunar New Year {name}! Wishing you health and prosperity.",
    ),
}


def campaigns_ensure_default(using: str = DEFAULT_DB_ALIAS, *, apps=None) -> None:
    """Create what is missing (each table only when it is empty). ``apps`` is the
    migration's app registry when a migration calls it."""
    if apps is None:
        from django.apps import apps
    Policy = apps.get_model("campaigns", "CampaignPolicy")
    ProgramDate = apps.get_model("campaigns", "ProgramDate")
    Campaign = apps.get_model("campaigns", "Campaign")
    Message = apps.get_model("campaigns", "CampaignMessage")
    Policy.objects.using(using).get_or_create(pk=1)
    if not ProgramDate.objects.using(using).exists():
        for code, name, name_en, month, day in PROGRAM_DATES:
            ProgramDate.objects.using(using).create(
                code=code, name=name, name_en=name_en, month=month, day=day
            )
    if Campaign.objects.using(using).exists():
        return
    now = timezone.now()
    for fields, messages in ((BIRTHDAY, BIRTHDAY_MESSAGES), (TET, TET_MESSAGES)):
        campaign = Campaign.objects.using(using).create(
            **fields, starts_at=now, created_at=now, updated_at=now
        )
        for language, (subject, body, sms) in messages.items():
            Message.objects.using(using).create(
                campaign=campaign, language=language, subject=subject, body=body, sms=sms
            )


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    if sender.name == "campaigns":
        campaigns_ensure_default(using=using)
