"""Authorisation rows for the overview page and its CSV downloads (console/views_overview.py).

Every staff role holds ``insights.view_overview`` (a store manager sees its stores only:
another store's code is a 404, tested in tests/console/test_overview_page.py); members and
visitors go to the staff login."""

from __future__ import annotations

from tests.security.matrix import ALL_STAFF, Row, admin

ROWS = {
    "console:overview": Row(admin(*ALL_STAFF)),
    "console:overview_csv": Row(admin(*ALL_STAFF)),
}
