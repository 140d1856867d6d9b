"""Authorisation rows for the overview's JSON (console/views_api.py).

A staff session's endpoint, not a page: no session (and a till's key, which is no staff
credential) gets 401 in the POS contract's error body rather than a redirect to the login
page, which a script cannot follow; a member's session too, it is no staff session. Every
staff role holds ``insights.view_overview``; a store manager sees its stores only (another
store's code is a 404, tested in tests/insights/test_overview_api.py)."""

from __future__ import annotations

from tests.security.matrix import Row, cells

ROWS = {
    "console:overview_api": Row(cells(200, no_session=401, members=401)),
}
