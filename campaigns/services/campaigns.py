"""Campaigns' lifecycle: marketers save, schedule, pause, resume and finish them; programme
admins approve those reaching more than ``CAMPAIGNS_APPROVAL_THRESHOLD`` members.

States: ``draft`` -> ``scheduled`` (checked, approved when needed) -> ``running`` (from
``starts_at``: the daily job and the tick create its sends) -> ``finished`` (at ``ends_at``,
or once a one-off has created its sends: what was created is still delivered). ``paused``
stops both creating and delivering; resuming schedules again (same checks). Only a draft or
a paused campaign is edited; changing who it reaches takes its approval away.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignMessage
from campaigns.observances import holiday_exists
from campaigns.rendering import placeholders_check
from campaigns.selectors import approval_needed, audience_count
from loyalty.errors import DomainError
from members.models import User

State = Campaign.State
AUDIENCE_FIELDS = ("audience", "segment", "tiers")


def _require(acting_user: User | None, permission: str, message: str) -> None:
    if acting_user is not None and not acting_user.has_perm(permission):
        raise DomainError("permission_denied", message)


def campaign_check(*, campaign: Campaign, messages: list[CampaignMessage] | None = None) -> None:
    """Everything a campaign needs before it can be scheduled, every problem at once
    (``ValidationError`` by field): a known holiday, a message in the programme's language,
    an SMS text when it sends SMS, known placeholders only, an active reward for a voucher."""
    errors: dict[str, list] = {}
    if campaign.trigger == Campaign.Trigger.HOLIDAY and not holiday_exists(campaign.holiday):
        errors.setdefault("holiday", []).append(
            _("No holiday or programme date has the code %(code)s.") % {"code": campaign.holiday}
        )
    if campaign.trigger != Campaign.Trigger.HOLIDAY and campaign.holiday:
        errors.setdefault("holiday", []).append(_("Only a holiday campaign names a holiday."))
    if campaign.trigger == Campaign.Trigger.WIN_BACK and campaign.days == 0:
        errors.setdefault("days", []).append(_("Win-back needs at least one day."))
    voucher = campaign.reward_kind == Campaign.RewardKind.VOUCHER and campaign.reward_id
    if voucher and not campaign.reward.is_active:
        errors.setdefault("reward", []).append(_("This reward is not active."))
    messages = list(campaign.messages.all()) if messages is None else messages
    languages = {message.language for message in messages}
    if settings.LANGUAGE_CODE not in languages:
        errors.setdefault("__all__", []).append(
            _("Write the message in Vietnamese at least (the members' default language).")
        )
    for message in messages:
        try:
            placeholders_check(message.subject, message.body, message.sms)
        except ValidationError as exc:
            errors.setdefault("__all__", []).extend(exc.messages)
        if campaign.by_sms and not message.sms.strip():
            errors.setdefault("__all__", []).append(
                _("The %(language)s message needs an SMS text: the campaign sends SMS.")
                % {"language": message.get_language_display()}
            )
    if errors:
        raise ValidationError(errors)


def campaign_save(
    *, campaign: Campaign, acting_user: User | None, audience_changed: bool = False
) -> Campaign:
    """Save a new campaign (a draft) or a draft's or paused campaign's changed fields, as
    staff edited them; records who. Changing who it reaches (``audience_changed``: the
    audience, tiers or segment) takes its approval away. Refuses (``campaign_locked``) to
    change a campaign in any other state, and ``permission_denied`` without
    ``campaigns.add_campaign`` / ``campaigns.change_campaign``."""
    now = timezone.now()
    with transaction.atomic():
        if campaign.pk is None:
            _require(acting_user, "campaigns.add_campaign", _("You may not add campaigns."))
            campaign.state = State.DRAFT
            campaign.created_by = acting_user
            campaign.created_at = now
        else:
            _require(acting_user, "campaigns.change_campaign", _("You may not change campaigns."))
            current = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if current.state not in (State.DRAFT, State.PAUSED):
                raise DomainError(
                    "campaign_locked",
                    _(
                        "Pause the campaign before changing it: only drafts and paused "
                        "campaigns change."
                    ),
                )
            campaign.state = current.state
            campaign.spent_points, campaign.spent_vouchers = (
                current.spent_points,
                current.spent_vouchers,
            )
            if audience_changed:
                campaign.approved_by = campaign.approved_at = campaign.approved_audience = None
        campaign.updated_by = acting_user
        campaign.full_clean(exclude=["tiers"])
        campaign.save()
    return campaign


def campaign_audience_changed(*, campaign: Campaign) -> Campaign:
    """Take the approval away after the audience's tiers changed (saved after the row)."""
    Campaign.objects.filter(pk=campaign.pk).update(
        approved_by=None, approved_at=None, approved_audience=None
    )
    campaign.approved_by = campaign.approved_at = campaign.approved_audience = None
    return campaign


def _locked(campaign: Campaign) -> Campaign:
    return (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("segment", "reward")
        .get(pk=campaign.pk)
    )


def campaign_schedule(
    *, campaign: Campaign, acting_user: User | None, now: datetime | None = None
) -> Campaign:
    """Schedule a draft or resume a paused campaign, after ``campaign_check``. A campaign
    reaching more than ``CAMPAIGNS_APPROVAL_THRESHOLD`` members needs an approval first
    (``approval_required``). It runs from ``starts_at`` (at once when that has come: a
    one-off due now is sent by the tick queued on commit)."""
    _require(acting_user, "campaigns.change_campaign", _("You may not schedule campaigns."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.state not in (State.DRAFT, State.PAUSED):
            raise DomainError(
                "campaign_state",
                _("Only a draft or a paused campaign can be scheduled (this one is %(state)s).")
                % {"state": locked.get_state_display()},
            )
        if locked.ends_at is not None and locked.ends_at <= now:
            raise DomainError("campaign_state", _("This campaign's end has passed."))
        campaign_check(campaign=locked)
        count = audience_count(locked)
        if approval_needed(locked, count=count):
            raise DomainError(
                "approval_required",
                _(
                    "This campaign reaches %(count)s members, more than %(limit)s: a "
                    "programme admin must approve it first."
                )
                % {"count": count, "limit": settings.CAMPAIGNS_APPROVAL_THRESHOLD},
                details={"audience": count},
            )
        state = State.RUNNING if locked.starts_at <= now else State.SCHEDULED
        Campaign.objects.filter(pk=locked.pk).update(
            state=state, updated_by=acting_user, updated_at=now
        )
        campaign.state = state
        _queue_tick()
    return campaign


def campaign_approve(
    *, campaign: Campaign, acting_user: User, now: datetime | None = None
) -> Campaign:
    """A programme admin approves sending the campaign to its audience as it is now
    (permission ``campaigns.approve_campaign``); the count is recorded with the approval."""
    if not acting_user.has_perm("campaigns.approve_campaign"):
        raise DomainError("permission_denied", _("You may not approve campaigns."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.state not in (State.DRAFT, State.PAUSED):
            raise DomainError("campaign_state", _("Only a draft or a paused campaign is approved."))
        count = audience_count(locked)
        Campaign.objects.filter(pk=locked.pk).update(
            approved_by=acting_user, approved_at=now, approved_audience=count
        )
        campaign.approved_by, campaign.approved_at = acting_user, now
        campaign.approved_audience = count
    return campaign


def campaign_pause(*, campaign: Campaign, acting_user: User | None) -> Campaign:
    """Stop creating and delivering sends (those in a worker's hands finish)."""
    _require(acting_user, "campaigns.change_campaign", _("You may not pause campaigns."))
    changed = Campaign.objects.filter(
        pk=campaign.pk, state__in=[State.SCHEDULED, State.RUNNING]
    ).update(state=State.PAUSED, updated_by=acting_user, updated_at=timezone.now())
    if not changed:
        raise DomainError("campaign_state", _("Only a scheduled or running campaign is paused."))
    campaign.state = State.PAUSED
    return campaign


def campaign_finish(*, campaign: Campaign, acting_user: User | None) -> Campaign:
    """Stop creating sends for good (those created are still delivered). A paused campaign
    cannot be ended: ending would deliver what it queued without the checks a resume makes;
    left paused, nothing more goes out."""
    _require(acting_user, "campaigns.change_campaign", _("You may not end campaigns."))
    changed = Campaign.objects.filter(
        pk=campaign.pk, state__in=[State.SCHEDULED, State.RUNNING]
    ).update(state=State.FINISHED, updated_by=acting_user, updated_at=timezone.now())
    if not changed:
        if Campaign.objects.filter(pk=campaign.pk, state=State.PAUSED).exists():
            raise DomainError(
                "campaign_state",
                _("A paused campaign sends nothing more; resume it first if it should end."),
            )
        raise DomainError("campaign_state", _("This campaign is not under way."))
    campaign.state = State.FINISHED
    return campaign


def campaigns_advance(*, now: datetime | None = None) -> dict[str, int]:
    """Move campaigns along with time: scheduled ones whose start has come run; running
    ones whose end has passed finish."""
    now = now or timezone.now()
    started = Campaign.objects.filter(state=State.SCHEDULED, starts_at__lte=now).update(
        state=State.RUNNING, updated_at=now
    )
    ended = Campaign.objects.filter(
        state__in=[State.SCHEDULED, State.RUNNING], ends_at__lte=now
    ).update(state=State.FINISHED, updated_at=now)
    return {"started": started, "finished": ended}


def _queue_tick() -> None:
    # After commit; a broker that is down is logged, not raised: the minute tick does the
    # same work by itself (``campaigns.services.enqueue``).
    from campaigns.services.enqueue import tick_enqueue

    tick_enqueue()
