"""Authorisation rows for the member page's staff actions (console/urls_actions.py).

Adjusting points and blocking are support's and the programme admin's (and superusers');
marketers and store managers get 403; members and visitors go to the staff login. The POSTs
run in URL order on one world: adjust adds points (302); block blocks member A (302), then
unblock unblocks them (302). An unknown member is a 404."""

from __future__ import annotations

from tests.security.matrix import PA, SP, SU, Row, admin

ACTORS = (PA, SP, SU)

ROWS = {
    "console:member_adjust": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(PA, 404)),
    "console:member_block": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(PA, 404)),
    "console:member_unblock": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(PA, 404)),
}

POST_BODIES = {
    "console:member_adjust": lambda w, p: ({"points": "5", "reason": "matrix"}, None),
    "console:member_block": lambda w, p: ({"reason": "matrix"}, None),
    "console:member_unblock": lambda w, p: ({"reason": "matrix"}, None),
}
