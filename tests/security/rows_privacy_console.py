"""Authorisation rows for the member's personal-data requests from the member page
(console/urls_privacy.py).

Export and erase are support's and the programme admin's (and superusers'); marketers and
store managers get 403; members and visitors go to the staff login. An unknown member is a
404. The POSTs: export downloads member A's data (200); erase is asked with a wrong card
number, so it answers the form again (400) and the world keeps member A for the rows after."""

from __future__ import annotations

from tests.security.matrix import PA, SP, SU, Row, admin

ACTORS = (PA, SP, SU)

ROWS = {
    "console:member_export": Row(admin(*ACTORS), post=admin(*ACTORS), missing=(SP, 404)),
    "console:member_erase": Row(admin(*ACTORS), post=admin(*ACTORS, ok=400), missing=(SP, 404)),
}

POST_BODIES = {
    "console:member_export": lambda w, p: ({"format": "csv", "reason": "matrix"}, None),
    "console:member_erase": lambda w, p: ({"reason": "matrix", "confirm": "000000000000"}, None),
}
