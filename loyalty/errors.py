"""The one domain error type services raise.

``code`` is stable (the POS contract's error codes); ``message`` is for people (translated);
``details`` is machine-readable context. The API's exception handler turns it into the
contract's error body, and pages show ``message``.
"""

from __future__ import annotations

# HTTP status for each stable code of the POS contract; a code not listed is a 422
# business-rule error.
STATUS_BY_CODE = {
    "validation_error": 400,
    "not_authenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_conflict": 409,
    "member_exists": 409,
    "throttled": 429,
    "server_error": 500,
}


class DomainError(Exception):
    def __init__(self, code: str, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.details = details or {}

    @property
    def status_code(self) -> int:
        return STATUS_BY_CODE.get(self.code, 422)

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
