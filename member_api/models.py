"""The member API's own rows: the first outcome of each idempotent write."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member


class MemberIdempotencyRecord(models.Model):
    """The first outcome of a member's write through the app, keyed by (member, kind of
    write, external id): the POS's ``IdempotencyRecord`` for a member instead of a store.

    A repeat with the same body gets this response again; a different body is a conflict.
    The row is written in the write's own transaction, under the member's point-account
    lock, so a write that fails leaves no record and concurrent repeats wait for the first.
    """

    class Kind(models.TextChoices):
        REDEEM = "redeem", _("Reward redemption")

    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique constraint leads with it
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    external_id = models.CharField(_("external id"), max_length=64)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    response = models.JSONField(_("response"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("member API idempotency record")
        verbose_name_plural = _("member API idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind", "external_id"], name="member_idempotency_unique"
            ),
        ]

    def __str__(self):
        return f"{self.member_id}/{self.kind}/{self.external_id}"
