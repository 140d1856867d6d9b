"""Rows of the URLs allauth adds for phone login (issue #13): login by code, the phone's
verification stage and the change of phone. ``account_confirm_login_code`` (there before,
with email codes) keeps its row in matrix.py."""

from __future__ import annotations

from tests.security.matrix import PA_SU, Row, account_page, admin_model, everyone

ROWS = {
    # "Send me a code": a page for the logged out; the logged in are sent on.
    "account_request_login_code": Row(account_page(logged_in=302, logged_out=200)),
    # Only during a login whose phone awaits its code (or a change of phone under way):
    # otherwise everyone is sent away.
    "account_verify_phone": Row(everyone(302)),
    # Changing the phone (a code to the new number proves it): logged in only.
    "account_change_phone": Row(account_page()),
}

# Logins waiting to prove a till member's phone: read only, for the superuser and the
# Program admin (members.roles gives that role every members permission).
ROWS.update(admin_model("members", "phoneclaim", view=PA_SU))
