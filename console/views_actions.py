"""The member page's staff actions (``/staff/member/<id>/<action>/``): a small form on
GET; on POST the service, then back to the member page with a message. A failed check or a
refused action shows the form again (400) and changes nothing. The services audit."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from console.forms_actions import (
    AdjustPointsForm,
    GoodwillVoucherForm,
    LinkAccountForm,
    ReasonForm,
    SetTierForm,
)
from console.views_base import console_context, staff_view
from loyalty.errors import DomainError
from members.models import Member
from members.selectors import program_get
from members.services.claim import member_claim
from members.services.people import member_block, member_unblock
from members.services.points import points_adjust
from rewards.services.issuing import voucher_issue_goodwill
from tiers.services import tier_set_manually


def member_or_404(member_id: int) -> Member:
    found = Member.objects.filter(pk=member_id).first()
    if found is None:
        raise Http404(_("There is no such member."))
    return found


def _act(request, member, *, form_class, template, title, run, done):
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run(form.cleaned_data)
        except DomainError as error:
            form.add_error(None, str(error.message))
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, done)
            return redirect("console:member", member_id=member.pk)
    response = render(
        request,
        template,
        console_context(request, title=title, member=member, form=form),
    )
    if request.method == "POST":
        response.status_code = 400
    return response


@staff_view("members.view_member", "members.adjust_points")
def member_adjust(request, member_id: int):
    member = member_or_404(member_id)
    return _act(
        request,
        member,
        form_class=AdjustPointsForm,
        template="console/actions/adjust.html",
        title=_("Adjust points"),
        run=lambda data: points_adjust(
            member=member,
            points=data["points"],
            reason=data["reason"],
            acting_user=request.user,
            program=program_get(),
        ),
        done=_("Points adjusted."),
    )


@staff_view("members.view_member", "members.block_member")
def member_block_view(request, member_id: int):
    member = member_or_404(member_id)
    return _act(
        request,
        member,
        form_class=ReasonForm,
        template="console/actions/block.html",
        title=_("Block the member"),
        run=lambda data: member_block(
            member=member, reason=data["reason"], acting_user=request.user
        ),
        done=_("Member blocked."),
    )


@staff_view("members.view_member", "members.block_member")
def member_unblock_view(request, member_id: int):
    member = member_or_404(member_id)
    return _act(
        request,
        member,
        form_class=ReasonForm,
        template="console/actions/unblock.html",
        title=_("Unblock the member"),
        run=lambda data: member_unblock(
            member=member, reason=data["reason"], acting_user=request.user
        ),
        done=_("Member unblocked."),
    )


@staff_view("members.view_member", "rewards.issue_goodwill_voucher")
def member_goodwill(request, member_id: int):
    member = member_or_404(member_id)
    return _act(
        request,
        member,
        form_class=GoodwillVoucherForm,
        template="console/actions/goodwill.html",
        title=_("Give a goodwill voucher"),
        run=lambda data: voucher_issue_goodwill(
            member=member, reward=data["reward"], reason=data["reason"], acting_user=request.user
        ),
        done=_("Goodwill voucher issued."),
    )


@staff_view("members.view_member", "tiers.change_membertier")
def member_tier(request, member_id: int):
    member = member_or_404(member_id)
    return _act(
        request,
        member,
        form_class=SetTierForm,
        template="console/actions/tier.html",
        title=_("Set the tier"),
        run=lambda data: _tier_set(member, data, request.user),
        done=_("Tier set."),
    )


def _tier_set(member, data, acting_user):
    # The service locks the member's tier row: it runs in one transaction with its writes.
    with transaction.atomic():
        tier_set_manually(
            member=member,
            tier=data["tier"],
            reason=data["reason"],
            locked_until=data["locked_until"],
            acting_user=acting_user,
        )


@staff_view("members.view_member", "members.change_member")
def member_link(request, member_id: int):
    """Staff who checked the person attach their online account (a login with no member)
    to the member enrolled at the till; the member's own phone is the one claimed."""
    member = member_or_404(member_id)
    return _act(
        request,
        member,
        form_class=partial(LinkAccountForm, member=member),
        template="console/actions/link.html",
        title=_("Link an online account"),
        run=lambda data: member_claim(
            user=data["user"], phone=member.phone, proof="staff", acting_user=request.user
        ),
        done=_("Online account linked."),
    )
