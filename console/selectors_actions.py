"""Reads for the member page's staff actions."""

from __future__ import annotations

from members.models import User


def login_without_member(email: str) -> User | None:
    """The active member login (not a staff account) with ``email`` that belongs to no
    member yet, or None."""
    return User.objects.filter(
        email__iexact=email.strip(),
        is_active=True,
        is_staff=False,
        is_superuser=False,
        member__isnull=True,
    ).first()
