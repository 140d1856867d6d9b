"""Authorisation rows for the member's "My data" pages and the personal-data requests."""

from __future__ import annotations

from tests.security.matrix import (
    LOGIN,
    PA,
    SP,
    SU,
    Redirect,
    Row,
    admin_model,
    cells,
    everyone,
    portal,
    portal_post_only,
)

# The download and the deletion ask for the password again (allauth's reauthentication):
# the matrix's sessions are force_login'ed, with no recent proof of identity.
REAUTH = Redirect("/accounts/reauthenticate/")


def _member_post_needing_reauth() -> dict:
    return cells(403, no_session=LOGIN, members=REAUTH)


ROWS = {
    "portal:my_data": Row(portal()),
    "portal:my_data_export": Row(cells(405, no_session=LOGIN), post=_member_post_needing_reauth()),
    "portal:my_data_withdraw": Row(*portal_post_only()),
    "portal:my_data_delete": Row(portal(), post=_member_post_needing_reauth()),
    # Where a deleted account lands, logged out: nothing personal on it.
    "portal:my_data_deleted": Row(everyone(200)),
    # Read-only: the requests are written by the services alone.
    **admin_model("members", "datarequest", view=(PA, SP, SU)),
}

POST_BODIES = {
    "portal:my_data_export": lambda world, principal: ({"format": "json"}, None),
    "portal:my_data_withdraw": lambda world, principal: ({}, None),
    "portal:my_data_delete": lambda world, principal: ({"confirm": "on"}, None),
}
