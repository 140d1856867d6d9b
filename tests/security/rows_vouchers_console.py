"""Authorisation rows for sending a voucher again from the member page
(console/urls_vouchers.py).

Staff who may change a member's profile and see vouchers (support, store managers of any
store: members are chain-wide, programme admins, superusers) may; marketers get 403; members
and visitors go to the staff login. An unknown voucher (or member) is a 404. The POSTs send
member A's voucher by SMS or by email, alternately, so that the per-channel daily limit
(3 resends) is not what answers."""

from __future__ import annotations

from tests.security.matrix import PA, SM, SP, SU, Row, admin

ACTORS = (PA, SM, SP, SU)

ROWS = {
    "console:voucher_resend": Row(admin(*ACTORS), post=admin(*ACTORS, ok=302), missing=(SP, 404)),
}

_CHANNEL = {PA: "sms", SM: "email", SP: "sms", SU: "email"}

POST_BODIES = {
    "console:voucher_resend": lambda w, p: (
        {"channel": _CHANNEL.get(p, "sms"), "reason": "matrix"},
        None,
    ),
}
