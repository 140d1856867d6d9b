"""Authorisation rows for the member search and the member 360 page (console/urls_members.py).

Every staff role may view members (members are chain-wide, so another store's manager too);
members and visitors go to the staff login. An unknown member is a 404."""

from __future__ import annotations

from tests.security.matrix import ALL_STAFF, PA, Row, admin

ROWS = {
    "console:find": Row(admin(*ALL_STAFF)),
    "console:member": Row(admin(*ALL_STAFF), missing=(PA, 404)),
}
