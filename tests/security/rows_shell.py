"""Authorisation rows for the staff console's shell: the admin moved from /admin/ to /staff/."""

from __future__ import annotations

from tests.security.matrix import Redirect, Row, everyone

ROWS = {
    # The admin's old address: the same path under /staff/, permanently, for everyone (the
    # admin at /staff/ then decides who may see it).
    "admin_moved": Row(everyone(Redirect("/staff/members/member/", 301))),
}
