"""Writes of the member API. Each calls the same domain service the portal calls."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from member_api.models import MemberIdempotencyRecord
from members.models import Member
from members.services import points as ledger
from pos.services.idempotency import Outcome, request_hash, retry_on_conflict
from rewards.models import Reward
from rewards.services import reward_redeem


def _conflict(external_id: str) -> DomainError:
    return DomainError(
        "idempotency_conflict",
        _("This external_id was already used for a different request."),
        details={"external_id": external_id},
    )


def member_run_idempotent(
    *,
    member: Member,
    kind: str,
    external_id: str,
    payload: dict,
    action: Callable[[], tuple[int, dict]],
) -> Outcome:
    """Run ``action`` once per (member, kind, external_id), as the POS's ``run_idempotent``
    does per store: the same ``payload`` again answers the first outcome (``replayed``), a
    different one is 409 ``idempotency_conflict``. The member's point account is locked
    first, so concurrent repeats of one member's write wait for each other and the second
    sees the first's record; an action that fails leaves no record (retry it)."""
    digest = request_hash(payload)

    def attempt() -> Outcome:
        with transaction.atomic():
            ledger.account_lock(member.pk)
            record = MemberIdempotencyRecord.objects.filter(
                member_id=member.pk, kind=kind, external_id=external_id
            ).first()
            if record is not None:
                if record.request_hash != digest:
                    raise _conflict(external_id)
                return Outcome(record.status_code, record.response, replayed=True)
            status, body = action()
            MemberIdempotencyRecord.objects.create(
                member_id=member.pk,
                kind=kind,
                external_id=external_id,
                request_hash=digest,
                status_code=status,
                response=body,
            )
            return Outcome(status, body, replayed=False)

    return retry_on_conflict(attempt)


def reward_redeem_in_app(
    *, member: Member, reward_id: int, external_id: str, body: Callable
) -> Outcome:
    """The member spends points on a reward from the app: the rewards service the portal
    uses (tier, stock, limits, dates and balance checked under the account lock), once per
    ``external_id``. ``body(voucher)`` is the answer to keep and replay."""

    def action() -> tuple[int, dict]:
        reward = Reward.objects.filter(pk=reward_id).first()
        if reward is None:
            raise DomainError("not_found", _("No reward with this id."))
        voucher = reward_redeem(member=member, reward=reward, reference=external_id)
        return 201, body(voucher)

    return member_run_idempotent(
        member=member,
        kind=MemberIdempotencyRecord.Kind.REDEEM,
        external_id=external_id,
        payload={"reward": reward_id},
        action=action,
    )
