"""Referrals: the programme's rules (one row), one referral per referred member, and the
contacts ever seen on a member (how "was a member before" is told)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member

MONEY = {"max_digits": 16, "decimal_places": 2}


class ReferralProgram(models.Model):
    """The referral rules. One row (id 1), created by migration with the defaults; a
    programme admin edits it. Rewards, the minimum purchase and the monthly cap are read
    when a referral is paid; the window when the referee joins (kept on the referral)."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Off: codes given at sign-up are recorded as refused; referrals already "
            "under way are still paid."
        ),
    )
    referrer_points = models.PositiveIntegerField(_("points for the referrer"), default=200)
    referee_points = models.PositiveIntegerField(_("points for the new member"), default=100)
    referrer_reward = models.ForeignKey(
        "rewards.Reward",
        verbose_name=_("voucher for the referrer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Optional: a voucher of this reward as well as (or instead of) points."),
    )
    referee_reward = models.ForeignKey(
        "rewards.Reward",
        verbose_name=_("voucher for the new member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Optional: a voucher of this reward as well as (or instead of) points."),
    )
    min_purchase_amount = models.DecimalField(
        _("minimum first purchase"),
        default=Decimal("200000"),
        help_text=_("The new member's qualifying purchase, net of returns, reaches this."),
        **MONEY,
    )
    window_days = models.PositiveSmallIntegerField(
        _("first purchase within (days)"),
        default=60,
        help_text=_("Days after joining (the day of joining is day 0)."),
    )
    monthly_cap = models.PositiveSmallIntegerField(
        _("rewards per referrer per month"),
        null=True,
        blank=True,
        default=10,
        help_text=_(
            "Beyond it in a calendar month the referrer's reward is not paid (the new "
            "member's still is). Empty: no cap."
        ),
    )
    max_joins_per_day = models.PositiveSmallIntegerField(
        _("joins per code from one device or IP per day"),
        default=3,
        help_text=_(
            "More than this through one code from one device or address in a day are held."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("referral programme")
        verbose_name_plural = _("referral programme")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="referral_program_singleton"),
            models.CheckConstraint(
                condition=Q(min_purchase_amount__gte=0), name="referral_program_min_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(monthly_cap__isnull=True) | Q(monthly_cap__gte=1),
                name="referral_program_cap_pos",
            ),
            models.CheckConstraint(
                condition=Q(max_joins_per_day__gte=1), name="referral_program_joins_pos"
            ),
        ]

    def __str__(self):
        return str(_("Referral programme"))


class Referral(models.Model):
    """A member who joined with another member's code. ``pending`` until the first qualifying
    purchase has passed the return window, then ``rewarded`` (both sides paid once), or
    ``refused``; ``held`` for staff to review. ``reasons`` records why a referral was held
    or refused (codes of ``promotions.services.referrals.REASONS``), oldest first."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the first purchase")
        HELD = "held", _("Held for review")
        REWARDED = "rewarded", _("Rewarded")
        REFUSED = "refused", _("Refused")

    referrer = models.ForeignKey(
        "members.Member",
        verbose_name=_("referrer"),
        on_delete=models.PROTECT,
        related_name="referrals_made",
        db_index=False,
    )
    referee = models.OneToOneField(
        "members.Member",
        verbose_name=_("new member"),
        on_delete=models.PROTECT,
        related_name="referral",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    reason_codes = models.CharField(
        _("reason codes"),
        max_length=255,
        blank=True,
        editable=False,
        help_text=_("The reasons' codes, space-separated, for filtering."),
    )
    channel = models.CharField(_("joined through"), max_length=8, choices=Member.Channel.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    device_id = models.CharField(_("device"), max_length=128, blank=True)
    joined_at = models.DateTimeField(_("joined at"))
    joined_on = models.DateField(_("joined on (local date)"))
    window_ends_at = models.DateTimeField(
        _("first purchase before"),
        help_text=_("The qualifying purchase happens before this moment."),
    )
    purchase = models.ForeignKey(
        "members.Purchase",
        verbose_name=_("qualifying purchase"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    referrer_points = models.PositiveIntegerField(_("points to the referrer"), default=0)
    referee_points = models.PositiveIntegerField(_("points to the new member"), default=0)
    referrer_rewarded = models.BooleanField(
        _("referrer rewarded"),
        default=False,
        help_text=_("False on a rewarded referral when the referrer's monthly cap was reached."),
    )
    referrer_entry = models.OneToOneField(
        "members.PointEntry",
        verbose_name=_("referrer's points entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    referee_entry = models.OneToOneField(
        "members.PointEntry",
        verbose_name=_("new member's points entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    referrer_voucher = models.OneToOneField(
        "rewards.Voucher",
        verbose_name=_("referrer's voucher"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    referee_voucher = models.OneToOneField(
        "rewards.Voucher",
        verbose_name=_("new member's voucher"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-joined_at", "-id"]
        permissions = [
            ("review_referral", _("Can approve or reject held referrals")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "held", "rewarded", "refused"]),
                name="referral_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(referrer=models.F("referee")), name="referral_not_self"
            ),
            models.CheckConstraint(
                condition=(Q(status="rewarded") & Q(paid_on__isnull=False))
                | (~Q(status="rewarded") & Q(paid_on__isnull=True)),
                name="referral_rewarded_has_date",
            ),
            models.CheckConstraint(
                condition=Q(referrer_rewarded=False) | Q(status="rewarded"),
                name="referral_referrer_paid_when_rewarded",
            ),
        ]
        indexes = [
            models.Index(fields=["referrer", "joined_on"], name="referral_referrer_day"),
            models.Index(fields=["referrer", "paid_on"], name="referral_referrer_paid"),
            models.Index(fields=["joined_on"], name="referral_joined_on"),
            models.Index(
                fields=["window_ends_at"],
                condition=Q(status="pending"),
                name="referral_pending",
            ),
            models.Index(fields=["joined_at"], condition=Q(status="held"), name="referral_held"),
        ]

    def __str__(self):
        return f"{self.referrer_id} → {self.referee_id} ({self.status})"

    @property
    def window_last_day(self):
        """The last local day on which the qualifying purchase may happen."""
        return timezone.localdate(self.window_ends_at - timedelta(microseconds=1))


class KnownContact(models.Model):
    """Every phone and (normalised) email a member has had: recorded at enrolment and on
    each profile change, and for members who existed before this table by its migration.
    It is how a referral tells that the new member "was a member before" (a contact
    another member has or had) or is the referrer under another account. Normalised as in
    ``promotions.contacts``; ``member`` is NULL if that member was deleted."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    value = models.CharField(_("value (normalised)"), max_length=254)
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    seen_at = models.DateTimeField(_("first seen at"), default=timezone.now)

    class Meta:
        verbose_name = _("known contact")
        verbose_name_plural = _("known contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value", "member"], name="known_contact_unique"
            ),
            models.CheckConstraint(condition=Q(kind__in=["phone", "email"]), name="known_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.value} ({self.member_id})"
