"""Authorisation rows for the audit log (console/urls_audit.py).

Reading the audit trail is support's and the programme admin's (and superusers'): it names
members and the staff who acted on them. Marketers and store managers get 403; members and
visitors go to the staff login."""

from __future__ import annotations

from tests.security.matrix import PA, SP, SU, Row, admin

ROWS = {
    "console:audit": Row(admin(PA, SP, SU)),
}
