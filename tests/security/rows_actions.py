"""Authorisation rows for the member page's staff actions (console/urls_actions.py).

Adjusting points and blocking are support's and the programme admin's (and superusers');
marketers and store managers get 403; members and visitors go to the staff login. Goodwill
vouchers take ``rewards.issue_goodwill_voucher``: support, and the programme admins and
marketers (who hold every ``rewards`` permission). Setting a tier takes
``tiers.change_membertier``: programme admins (``*tiers``). Linking an online account takes
``members.change_member``: support, store managers (of any store: members are chain-wide)
and programme admins. The POSTs run in URL order on one world: adjust adds points (302);
block blocks member A (302), then unblock unblocks them (302); the goodwill voucher is
issued to A (302); A's tier is set (302); A has a login already, so linking one is refused
(400) by those allowed to try. An unknown member is a 404."""

from __future__ import annotations

from tests.security.matrix import MK, PA, SM, SP, SU, Row, admin

ACTORS = (PA, SP, SU)
GOODWILL = (PA, MK, SP, SU)
TIER = (PA, SU)
LINK = (PA, SM, SP, SU)


def _tier_pk():
    from tiers.models import Tier

    return Tier.objects.order_by("-rank").first().pk


ROWS = {
    "console:member_adjust": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(PA, 404)),
    "console:member_block": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(PA, 404)),
    "console:member_unblock": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(PA, 404)),
    "console:member_goodwill": Row(
        admin(*GOODWILL), post=admin(*GOODWILL, ok=302), missing=(PA, 404)
    ),
    "console:member_tier": Row(admin(*TIER), post=admin(*TIER, ok=302), missing=(PA, 404)),
    "console:member_link": Row(admin(*LINK), post=admin(*LINK, ok=400), missing=(PA, 404)),
}

POST_BODIES = {
    "console:member_adjust": lambda w, p: ({"points": "5", "reason": "matrix"}, None),
    "console:member_block": lambda w, p: ({"reason": "matrix"}, None),
    "console:member_unblock": lambda w, p: ({"reason": "matrix"}, None),
    "console:member_goodwill": lambda w, p: (
        {"reward": str(w.reward_id), "reason": "matrix"},
        None,
    ),
    "console:member_tier": lambda w, p: ({"tier": str(_tier_pk()), "reason": "matrix"}, None),
    # The PhoneClaim's login of world.build: a member's login with no member yet.
    "console:member_link": lambda w, p: ({"email": "claiming@example.com"}, None),
}
