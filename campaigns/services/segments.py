"""Saved segments: staff create and change them; every save checks the rules strictly and
answers with the live count and a sample."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Segment
from campaigns.segment_rules import rules_validate
from campaigns.selectors import SegmentPreview, segment_preview
from loyalty.errors import DomainError
from members.models import User


def _require(acting_user: User, permission: str) -> None:
    if not acting_user.has_perm(permission):
        raise DomainError("permission_denied", _("You may not manage segments."))


def _clean(segment: Segment, rules) -> None:
    """Field checks (code, name, unique code) and the rules; every problem at once."""
    errors = {}
    try:
        segment.rules = rules_validate(rules)
    except ValidationError as exc:
        errors["rules"] = exc.error_list
    try:
        segment.full_clean(exclude=["rules", "created_by", "updated_by"])
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def segment_create(
    *,
    code: str,
    name: str,
    rules: dict,
    acting_user: User,
    description: str = "",
    today: date | None = None,
) -> tuple[Segment, SegmentPreview]:
    """Save a new segment. Raises ``ValidationError`` per field (``code``, ``name``,
    ``rules``) and ``DomainError('permission_denied')`` without ``campaigns.add_segment``.
    Returns the segment and its preview (count and sample)."""
    _require(acting_user, "campaigns.add_segment")
    segment = Segment(
        code=(code or "").strip(),
        name=(name or "").strip(),
        description=(description or "").strip(),
        created_by=acting_user,
        updated_by=acting_user,
        created_at=timezone.now(),
    )
    _clean(segment, rules)
    segment.save()
    return segment, segment_preview(segment.rules, today=today)


@transaction.atomic
def segment_update(
    *,
    segment: Segment,
    acting_user: User,
    name: str | None = None,
    description: str | None = None,
    rules: dict | None = None,
    today: date | None = None,
) -> tuple[Segment, SegmentPreview]:
    """Change a segment's name, description or rules (what is given; the code never
    changes: campaigns and rewards refer to it). Same checks as ``segment_create``, with
    ``campaigns.change_segment``. Returns the segment and its preview."""
    _require(acting_user, "campaigns.change_segment")
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if name is not None:
        segment.name = name.strip()
    if description is not None:
        segment.description = description.strip()
    rules_before = segment.rules
    _clean(segment, segment.rules if rules is None else rules)
    segment.updated_by = acting_user
    segment.save(update_fields=["name", "description", "rules", "updated_by", "updated_at"])
    if segment.rules != rules_before:
        # An approval was for the audience as it was: the campaigns sending to this segment
        # need one again (checked when they are scheduled and before a holiday send).
        from campaigns.models import Campaign

        Campaign.objects.filter(segment=segment, approved_at__isnull=False).update(
            approved_at=None, approved_by=None
        )
    return segment, segment_preview(segment.rules, today=today)
