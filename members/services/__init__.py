"""Writes about members: enrolment, profile and consents (``people``), the point ledger
(``points``), stores (``people``)."""

from members.services.people import (
    CONSENT_CHANNELS,
    PROFILE_FIELDS,
    STORE_FIELDS,
    member_block,
    member_create,
    member_set_consent,
    member_unblock,
    member_update_profile,
    store_create_or_update,
)

__all__ = [
    "CONSENT_CHANNELS",
    "PROFILE_FIELDS",
    "STORE_FIELDS",
    "member_block",
    "member_create",
    "member_set_consent",
    "member_unblock",
    "member_update_profile",
    "store_create_or_update",
]
