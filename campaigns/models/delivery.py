"""Delivery: one ``Send`` per (campaign, member, occurrence), created by the set-based
fan-out, claimed by workers, and marked channel by channel; the in-app notifications it
leaves; the SMS log of the default SMS backend.

Exactly once: the unique (campaign, member, occurrence) makes a second fan-out create
nothing; a send is claimed with a conditional ``UPDATE`` (under ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) that stamps a claim token, and every later write of the worker checks the token,
so a send reclaimed after its worker died is finished by one worker only; the send's id is
the idempotency key of the ledger grant (``send:<id>``), of the voucher, of the in-app
notification (unique on the send), of the SMS provider call and of the email's Message-ID.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Send(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class SkipReason(models.TextChoices):
        NO_CONSENT = "no_consent", _("No consent for its channels")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        NO_CONTACT = "no_contact", _("No email address or phone")
        BUDGET = "budget", _("Budget spent")
        BLOCKED = "blocked", _("Membership blocked")
        OUT_OF_STOCK = "out_of_stock", _("Reward out of stock")

    class ChannelStatus(models.TextChoices):
        NOT_USED = "", _("Not used")
        PENDING = "pending", _("To send")
        SENT = "sent", _("Sent")
        NO_CONSENT = "no_consent", _("No consent")
        NO_CONTACT = "no_contact", _("No address")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="sends",
        db_index=False,  # the unique (campaign, member, occurrence) leads with it
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="campaign_sends",
    )
    occurrence = models.CharField(
        _("occurrence"),
        max_length=64,
        help_text=_(
            "Which time this is: the year of a birthday, the date of a holiday, the event "
            "(tierchange:12, voucher:34:2026-12-31), once for a one-off."
        ),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    skip_reason = models.CharField(
        _("skipped because"), max_length=16, choices=SkipReason.choices, blank=True
    )
    email_status = models.CharField(
        _("email"), max_length=10, choices=ChannelStatus.choices, blank=True
    )
    sms_status = models.CharField(
        _("SMS"), max_length=10, choices=ChannelStatus.choices, blank=True
    )
    in_app_status = models.CharField(
        _("in-app"), max_length=10, choices=ChannelStatus.choices, blank=True
    )
    not_before = models.DateTimeField(
        _("not before"),
        default=timezone.now,
        help_text=_("Not claimed before this time (quiet hours, retry back-off)."),
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_token = models.CharField(_("claim"), max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    reward_done = models.BooleanField(_("reward handled"), default=False)
    points_granted = models.PositiveIntegerField(_("points granted"), default=0)
    voucher = models.OneToOneField(
        "rewards.Voucher",
        verbose_name=_("voucher issued"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaign_send",
    )
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    CHANNEL_FIELDS = {"email": "email_status", "sms": "sms_status", "in_app": "in_app_status"}

    class Meta:
        verbose_name = _("send")
        verbose_name_plural = _("sends")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member", "occurrence"], name="send_once_per_occurrence"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed", "skipped"]),
                name="send_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="skipped", skip_reason__gt="")
                | (~Q(status="skipped") & Q(skip_reason="")),
                name="send_skip_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="send_claim_has_time",
            ),
        ]
        indexes = [
            # What workers claim: open sends of a campaign, by time.
            models.Index(
                fields=["campaign", "not_before"],
                condition=Q(status__in=["queued", "sending"]),
                name="send_open",
            ),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.member_id}/{self.occurrence}: {self.status}"


class Notification(models.Model):
    """An in-app message the portal shows the member; one per send at most."""

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # the (member, created_at) index leads with it
    )
    send = models.OneToOneField(
        Send, verbose_name=_("send"), on_delete=models.PROTECT, related_name="notification"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"], name="notification_member")]

    def __str__(self):
        return self.title


class SmsLog(models.Model):
    """What the default SMS backend "sent": written once per idempotency key (the send),
    so staff can read in the admin what members would have received."""

    key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    phone = models.CharField(_("phone"), max_length=16)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS log entry")
        verbose_name_plural = _("SMS log")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.phone}: {self.text[:40]}"
