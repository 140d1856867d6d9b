"""People: logins, members, their consents and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models.program import Store
from members.provinces import PROVINCE_CHOICES


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A login: staff and members who use the portal. Loyalty data lives on ``Member``.

    A member enrolled at the till has no login until they sign up in the portal, which is why
    the member profile is a separate row and not columns of this one.
    """

    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can log into the staff site and admin."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The stores a staff user works for: a store manager sees and acts on these stores'
    # purchases, returns and figures only (``members.selectors.staff_store_ids``).
    stores = models.ManyToManyField(
        Store,
        verbose_name=_("stores"),
        blank=True,
        related_name="staff_users",
        help_text=_("The stores this staff user works for. A store manager sees only these."),
    )

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        # Personal data erased at the member's request (``members.services.privacy``): the
        # row stays, anonymised, so the ledger's figures keep their member.
        ERASED = "erased", _("Erased")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Member portal")
        POS = "pos", _("At the till")
        STAFF = "staff", _("Staff")
        IMPORT = "import", _("Import")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
    )
    card_number = models.CharField(_("card number"), max_length=12, unique=True, editable=False)
    referral_code = models.CharField(_("referral code"), max_length=12, unique=True, editable=False)
    # Blank only for a member created by an import from a phone or email alone (the profile
    # is completed later); every other way of enrolling asks for the name.
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(
        _("phone"), max_length=16, unique=True, null=True, blank=True, help_text=_("E.164")
    )
    # NULL, not "", for no email: the case-insensitive unique constraint must ignore absences.
    email = models.EmailField(_("email"), null=True, blank=True)  # noqa: DJ001
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    province = models.CharField(
        _("province/city"), max_length=32, choices=PROVINCE_CHOICES, blank=True
    )
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    language = models.CharField(
        _("language"),
        max_length=2,
        choices=[("vi", "Tiếng Việt"), ("en", "English")],
        default="vi",
        db_default="vi",
        help_text=_("The language of the messages the member receives."),
    )
    email_consent = models.BooleanField(_("email marketing consent"), default=False)
    email_consent_at = models.DateTimeField(_("email consent changed at"), null=True, blank=True)
    sms_consent = models.BooleanField(_("SMS marketing consent"), default=False)
    sms_consent_at = models.DateTimeField(_("SMS consent changed at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    blocked_reason = models.CharField(_("blocked because"), max_length=255, blank=True)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    enrolled_via = models.CharField(
        _("enrolled via"), max_length=8, choices=Channel.choices, default=Channel.PORTAL
    )
    enrolled_at_store = models.ForeignKey(
        Store,
        verbose_name=_("enrolled at store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-joined_at"]
        permissions = [
            ("block_member", _("Can block and unblock members")),
            ("adjust_points", _("Can adjust a member's points with a reason")),
            ("export_members", _("Can export member data")),
        ]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="member_email_ci_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "blocked", "erased"]), name="member_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(phone__isnull=True) | Q(phone__startswith="+"),
                name="member_phone_e164",
            ),
            models.CheckConstraint(
                condition=Q(phone__isnull=False) | Q(email__isnull=False) | Q(status="erased"),
                name="member_has_contact",
            ),
            models.CheckConstraint(
                condition=~Q(status="blocked") | ~Q(blocked_reason=""),
                name="member_blocked_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="erased", erased_at__isnull=False)
                | (~Q(status="erased") & Q(erased_at__isnull=True)),
                name="member_erased_has_time",
            ),
        ]
        indexes = [models.Index(fields=["joined_at"]), models.Index(fields=["birth_date"])]

    def __str__(self):
        if not self.full_name:
            return self.card_number_display
        return f"{self.full_name} ({self.card_number})"

    @property
    def display_name(self) -> str:
        """The name to show a person: the full name, or the card number while the profile
        of an imported member has none yet."""
        return self.full_name or self.card_number_display

    @property
    def is_blocked(self) -> bool:
        return self.status == self.Status.BLOCKED

    @property
    def is_erased(self) -> bool:
        return self.status == self.Status.ERASED

    @property
    def card_number_display(self) -> str:
        return " ".join(self.card_number[i : i + 4] for i in range(0, len(self.card_number), 4))


class ConsentEvent(models.Model):
    """Append-only history of marketing consent, per channel: who, when, through what."""

    class ConsentChannel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Source(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        PORTAL = "portal", _("Member portal")
        APP = "app", _("Mobile app")
        POS = "pos", _("At the till")
        STAFF = "staff", _("Staff")
        IMPORT = "import", _("Import")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="consent_events", verbose_name=_("member")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent history")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "channel", "at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["email", "sms"]), name="consent_channel_valid"
            ),
        ]

    def __str__(self):
        verb = _("granted") if self.granted else _("withdrawn")
        return f"{self.member_id} {self.channel} {verb} {self.at:%Y-%m-%d %H:%M}"


class AuditEntry(models.Model):
    """Who changed what a person cares about (status, consents by staff, points, tiers)."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(
        _("by (label)"),
        max_length=120,
        blank=True,
        help_text=_("Who acted when it was not a person: a store's API key, a job."),
    )
    action = models.CharField(_("action"), max_length=64)
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "at"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
