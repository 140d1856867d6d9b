"""Writes of the POS layer: API keys (``api_keys``), idempotent writes (``idempotency``), the
purchase, return and enrolment flows (``purchases``, ``enrolment``)."""

from pos.services.api_keys import api_key_create, api_key_revoke

__all__ = ["api_key_create", "api_key_revoke"]
