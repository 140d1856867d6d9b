"""Campaigns: who hears what, when, through which channels, with what reward; the
programme's own dates (observances the ``holidays`` package lacks) and the campaign policy.

A campaign changes state only through ``campaigns.services.campaigns`` (schedule, approve,
pause, resume, finish); its budget counters only under the conditional ``UPDATE`` of the
delivery (``campaigns.services.delivery``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        FINISHED = "finished", _("Finished")

    class Audience(models.TextChoices):
        ALL = "all", _("Every member")
        TIERS = "tiers", _("Members of some tiers")
        SEGMENT = "segment", _("A segment")

    class Trigger(models.TextChoices):
        ONE_OFF = "one_off", _("Once, at a set time")
        BIRTHDAY = "birthday", _("Birthday")
        HOLIDAY = "holiday", _("Holiday")
        FIRST_PURCHASE = "first_purchase", _("First purchase")
        TIER_UPGRADE = "tier_upgrade", _("Tier upgrade")
        TIER_DOWNGRADE = "tier_downgrade", _("Coming tier downgrade")
        POINTS_EXPIRING = "points_expiring", _("Points about to expire")
        VOUCHER_EXPIRING = "voucher_expiring", _("Voucher about to expire")
        WIN_BACK = "win_back", _("No purchase for N days (win-back)")

    class RewardKind(models.TextChoices):
        NONE = "none", _("No reward")
        POINTS = "points", _("Bonus points")
        TIER_BIRTHDAY_POINTS = "tier_points", _("The birthday points of the member's tier")
        VOUCHER = "voucher", _("A voucher of a catalogue reward")

    # What "N days" means per trigger, and its default when left empty.
    DAYS_DEFAULT = {
        Trigger.HOLIDAY: 0,
        Trigger.TIER_DOWNGRADE: 30,
        Trigger.POINTS_EXPIRING: 30,
        Trigger.VOUCHER_EXPIRING: 7,
        Trigger.WIN_BACK: 90,
    }
    # Triggers the daily job looks at every day (the one-off goes at its time).
    DAILY_TRIGGERS = (
        Trigger.BIRTHDAY,
        Trigger.HOLIDAY,
        Trigger.FIRST_PURCHASE,
        Trigger.TIER_UPGRADE,
        Trigger.TIER_DOWNGRADE,
        Trigger.POINTS_EXPIRING,
        Trigger.VOUCHER_EXPIRING,
        Trigger.WIN_BACK,
    )

    code = models.SlugField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_("Short stable identifier, e.g. tet-2027. Cannot be changed later."),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("notes"), blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.DRAFT, editable=False
    )
    audience = models.CharField(
        _("audience"), max_length=8, choices=Audience.choices, default=Audience.ALL
    )
    tiers = models.ManyToManyField(
        "tiers.Tier",
        verbose_name=_("tiers"),
        blank=True,
        related_name="+",
        help_text=_("For an audience of some tiers."),
    )
    segment = models.ForeignKey(
        "campaigns.Segment",
        verbose_name=_("segment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text=_("For an audience of a segment."),
    )
    trigger = models.CharField(
        _("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.ONE_OFF
    )
    send_at = models.DateTimeField(
        _("send at"), null=True, blank=True, help_text=_("For a one-off campaign.")
    )
    holiday = models.CharField(
        _("holiday"),
        max_length=48,
        blank=True,
        help_text=_("For a holiday campaign: a holiday of the calendar or a programme date."),
    )
    days = models.PositiveSmallIntegerField(
        _("days"),
        null=True,
        blank=True,
        help_text=_(
            "Holiday: days before it (0: on the day). Coming downgrade, points or voucher "
            "expiring: days before (30, 30, 7 when empty). Win-back: days without a purchase "
            "(90 when empty)."
        ),
    )
    by_email = models.BooleanField(_("email"), default=False)
    by_sms = models.BooleanField(_("SMS"), default=False)
    in_app = models.BooleanField(_("in-app notification"), default=True)
    reward_kind = models.CharField(
        _("reward"), max_length=12, choices=RewardKind.choices, default=RewardKind.NONE
    )
    reward_points = models.PositiveIntegerField(_("bonus points"), null=True, blank=True)
    reward = models.ForeignKey(
        "rewards.Reward",
        verbose_name=_("voucher of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The catalogue reward whose voucher each member gets."),
    )
    budget_points = models.PositiveBigIntegerField(
        _("points budget"),
        null=True,
        blank=True,
        help_text=_("Most points the campaign grants in all. Empty: no cap."),
    )
    budget_vouchers = models.PositiveIntegerField(
        _("voucher budget"),
        null=True,
        blank=True,
        help_text=_("Most vouchers the campaign issues in all. Empty: no cap."),
    )
    spent_points = models.PositiveBigIntegerField(_("points granted"), default=0, editable=False)
    spent_vouchers = models.PositiveIntegerField(_("vouchers issued"), default=0, editable=False)
    starts_at = models.DateTimeField(_("starts at"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    approved_audience = models.PositiveIntegerField(
        _("audience when approved"), null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_campaign", _("Can approve campaigns sent to many members")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "scheduled", "running", "paused", "finished"]),
                name="campaign_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(audience="all")
                | Q(audience="tiers", segment__isnull=True)
                | Q(audience="segment", segment__isnull=False),
                name="campaign_audience_shape",
            ),
            models.CheckConstraint(
                condition=Q(
                    trigger__in=[
                        "one_off",
                        "birthday",
                        "holiday",
                        "first_purchase",
                        "tier_upgrade",
                        "tier_downgrade",
                        "points_expiring",
                        "voucher_expiring",
                        "win_back",
                    ]
                ),
                name="campaign_trigger_valid",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="one_off") | Q(send_at__isnull=False),
                name="campaign_one_off_has_time",
                violation_error_message=_("A one-off campaign needs the time to send it."),
            ),
            models.CheckConstraint(
                condition=~Q(trigger="holiday") | ~Q(holiday=""),
                name="campaign_holiday_named",
                violation_error_message=_("A holiday campaign needs its holiday."),
            ),
            models.CheckConstraint(
                condition=Q(reward_kind="none", reward_points__isnull=True, reward__isnull=True)
                | Q(reward_kind="points", reward_points__gt=0, reward__isnull=True)
                | Q(reward_kind="tier_points", reward_points__isnull=True, reward__isnull=True)
                | Q(reward_kind="voucher", reward_points__isnull=True, reward__isnull=False),
                name="campaign_reward_shape",
                violation_error_message=_(
                    "Bonus points need a number of points; a voucher needs its catalogue "
                    "reward; the other kinds need neither."
                ),
            ),
            models.CheckConstraint(
                condition=Q(by_email=True) | Q(by_sms=True) | Q(in_app=True),
                name="campaign_has_channel",
                violation_error_message=_("Choose at least one channel."),
            ),
            models.CheckConstraint(
                condition=Q(budget_points__isnull=True) | Q(spent_points__lte=F("budget_points")),
                name="campaign_points_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(budget_vouchers__isnull=True)
                | Q(spent_vouchers__lte=F("budget_vouchers")),
                name="campaign_vouchers_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="campaign_dates_ordered",
                violation_error_message=_("The end is before the start."),
            ),
        ]
        indexes = [models.Index(fields=["state", "trigger"], name="campaign_state_trigger")]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def days_or_default(self) -> int:
        if self.days is not None:
            return self.days
        return self.DAYS_DEFAULT.get(self.trigger, 0)

    @property
    def channels(self) -> list[str]:
        """The channel codes it sends through: ``email``, ``sms``, ``in_app``."""
        return [
            code
            for code, on in (
                ("email", self.by_email),
                ("sms", self.by_sms),
                ("in_app", self.in_app),
            )
            if on
        ]

    @property
    def is_editable(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.PAUSED)


class CampaignMessage(models.Model):
    """What a campaign says in one language. Placeholders: ``{name}``, ``{tier}``,
    ``{points}``, ``{voucher_code}``, ``{expiry_date}``; the body is plain text (the email's
    HTML is made from it, paragraphs kept)."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="messages"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(
        _("title"), max_length=200, help_text=_("The email's subject and the notification's title.")
    )
    body = models.TextField(_("text"), help_text=_("For the email and the in-app notification."))
    sms = models.CharField(
        _("SMS text"),
        max_length=480,
        blank=True,
        help_text=_("Keep it short: 160 characters without accents make one SMS."),
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["campaign", "language"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "language"], name="campaign_message_lang"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.language}"


class ProgramDate(models.Model):
    """A day the programme celebrates that the ``holidays`` package does not have (8/3,
    20/10, 20/11, Christmas...): every year on a day of the solar calendar, or in one year
    only. Holiday campaigns name it by its code."""

    code = models.SlugField(
        _("code"),
        max_length=48,
        unique=True,
        help_text=_("Short stable identifier, e.g. womens-day. Cannot be changed later."),
    )
    name = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    month = models.PositiveSmallIntegerField(_("month"))
    day = models.PositiveSmallIntegerField(_("day"))
    year = models.PositiveSmallIntegerField(
        _("year"), null=True, blank=True, help_text=_("Empty: every year.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("programme date")
        verbose_name_plural = _("programme dates")
        ordering = ["month", "day", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(month__gte=1, month__lte=12, day__gte=1, day__lte=31),
                name="program_date_valid_day",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.day}/{self.month})"


class CampaignPolicy(models.Model):
    """The programme's campaign settings (one row, id 1, created by migration)."""

    SINGLETON_ID = 1

    class BirthdayTiming(models.TextChoices):
        ON_THE_DAY = "on_day", _("On the birthday")
        MONTH_START = "month_start", _("On the first day of the birth month")

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    birthday_timing = models.CharField(
        _("birthday campaigns send"),
        max_length=12,
        choices=BirthdayTiming.choices,
        default=BirthdayTiming.ON_THE_DAY,
        help_text=_("Members born on 29 February are greeted on 28 February in the other years."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign policy")
        verbose_name_plural = _("campaign policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="campaign_policy_singleton"),
            models.CheckConstraint(
                condition=Q(birthday_timing__in=["on_day", "month_start"]),
                name="campaign_policy_birthday_valid",
            ),
        ]

    def __str__(self):
        return str(self.get_birthday_timing_display())
