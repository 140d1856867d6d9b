"""The POS integration layer: store API keys (and, with the ledger, the purchase flow)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Store


class StoreApiKey(models.Model):
    """A POS credential scoped to one store. Only a keyed hash of the key is stored; the key
    itself is shown once, when it is created."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="api_keys"
    )
    label = models.CharField(_("label"), max_length=100, blank=True)
    prefix = models.CharField(
        _("prefix"),
        max_length=16,
        unique=True,
        help_text=_("The key's first characters, to recognise it in lists and logs."),
    )
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("store API key")
        verbose_name_plural = _("store API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.store.code})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first outcome of a POS write, keyed by (store, kind of write, external id).

    A repeat with the same body gets this response again; a different body is a conflict.
    The row is inserted in the same transaction as the write, so a write that fails leaves
    no record and can be retried, and concurrent repeats wait for the first to finish.
    """

    class Kind(models.TextChoices):
        ENROL = "enrol", _("Enrolment")
        TRANSACTION = "transaction", _("Purchase")
        RETURN = "return", _("Return")
        REDEEM = "redeem", _("Reward redemption")

    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    external_id = models.CharField(_("external id"), max_length=64)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), default=0)
    response = models.JSONField(_("response"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind", "external_id"], name="idempotency_store_kind_id"
            ),
        ]

    def __str__(self):
        return f"{self.store_id}/{self.kind}/{self.external_id}"
