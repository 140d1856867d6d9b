"""Redeeming a reward at the till: the rewards service, once per (store, external_id)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import PointAccount, Store
from pos.selectors import member_by_card_or_404, voucher_body
from pos.services.idempotency import Outcome, run_idempotent
from rewards.models import Reward
from rewards.services import reward_redeem


def reward_redeem_at_till(
    *, store: Store, card_number: str, reward_id: int, external_id: str
) -> Outcome:
    """The member spends points on the reward; the voucher and balance are the answer, and
    a repeat of the same ``external_id`` gets the same answer without spending again. The
    cost is the server's; nothing the till says about it is read."""
    member = member_by_card_or_404(card_number)
    reward = Reward.objects.filter(pk=reward_id).first()
    if reward is None:
        raise DomainError("not_found", _("No reward with this id."))

    def action() -> tuple[int, dict]:
        voucher = reward_redeem(member=member, reward=reward, store=store, reference=external_id)
        account = PointAccount.objects.get(pk=member.pk)
        return 201, {
            "voucher": voucher_body(voucher),
            "balance": {"available": account.available, "pending": account.pending},
        }

    return run_idempotent(
        store=store,
        kind="redeem",
        external_id=external_id,
        payload={"member": member.card_number, "reward": reward.pk},
        action=action,
    )
