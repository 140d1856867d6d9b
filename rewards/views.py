"""The member portal's rewards pages: the catalogue, redeeming, my vouchers (code and QR),
cancelling within the grace period. Every write goes through ``rewards.services``."""

from __future__ import annotations

import re
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loyalty import codes
from loyalty.errors import DomainError
from members.models import Member, PointAccount
from members.selectors import member_for_user
from rewards.models import Reward, Voucher
from rewards.selectors import (
    reward_availability,
    rewards_for_member,
    voucher_of_member,
    vouchers_of_member,
)
from rewards.services import reward_redeem, voucher_cancel


def _member(request) -> Member | None:
    return member_for_user(request.user)


def _no_member(request):
    return render(request, "members/no_member.html", status=403)


def _balance(member: Member) -> int:
    return PointAccount.objects.filter(pk=member.pk).values_list("available", flat=True).first()


@login_required
def catalogue(request):
    member = _member(request)
    if member is None:
        return _no_member(request)
    return render(
        request,
        "rewards/catalogue.html",
        {"member": member, "offers": rewards_for_member(member), "balance": _balance(member)},
    )


@login_required
def reward_detail(request, reward_id: int):
    """The reward, what it costs this member and whether they can have it; the form on it
    (POST) is the confirmation that redeems it."""
    member = _member(request)
    if member is None:
        return _no_member(request)
    reward = get_object_or_404(Reward.objects.prefetch_related("tier_prices"), pk=reward_id)
    if request.method == "POST":
        token = request.POST.get("request_token", "")
        try:
            voucher = reward_redeem(
                member=member,
                reward=reward,
                acting_user=request.user,
                # The form's one-time token: a double click or a resent form redeems once.
                reference=f"portal:{token}" if re.fullmatch(r"[0-9a-f]{32}", token) else "",
                once=True,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("rewards:reward", reward.pk)
        messages.success(
            request,
            _("Done! Your voucher %(code)s is ready.") % {"code": voucher.code_display},
        )
        return redirect("rewards:voucher", voucher.code)
    offer = reward_availability(member, reward)
    return render(
        request,
        "rewards/reward.html",
        {
            "member": member,
            "reward": reward,
            "offer": offer,
            "balance": _balance(member),
            "request_token": uuid.uuid4().hex,
        },
    )


@login_required
def my_vouchers(request):
    member = _member(request)
    if member is None:
        return _no_member(request)
    vouchers = list(vouchers_of_member(member)[:100])
    return render(
        request,
        "rewards/vouchers.html",
        {"member": member, "vouchers": vouchers, "today": timezone.localdate()},
    )


def _voucher_or_404(member: Member, code: str) -> Voucher:
    voucher = voucher_of_member(member, code)
    if voucher is None:
        raise Http404
    return voucher


@login_required
def voucher_detail(request, code: str):
    member = _member(request)
    if member is None:
        return _no_member(request)
    voucher = _voucher_or_404(member, code)
    return render(
        request,
        "rewards/voucher.html",
        {
            "member": member,
            "voucher": voucher,
            "codes": codes.card_images(_scanned_code(voucher)),
            "can_cancel": voucher.can_be_cancelled(),
            "today": timezone.localdate(),
        },
    )


def _scanned_code(voucher: Voucher) -> str:
    """What the till scans: a partner voucher is shown at the partner, so its codes carry
    the partner's code; ours carry the voucher code (normalised: no dashes)."""
    return voucher.partner_code or voucher.code


def _voucher_image(request, code: str, render_svg):
    member = _member(request)
    if member is None:
        return _no_member(request)
    voucher = _voucher_or_404(member, code)
    response = HttpResponse(render_svg(_scanned_code(voucher)), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def voucher_qr(request, code: str):
    """The voucher's code as an SVG QR code (standard QR); another member's voucher: 404."""
    return _voucher_image(request, code, codes.qr_svg)


@login_required
@require_GET
def voucher_barcode(request, code: str):
    """The voucher's code as an SVG Code 128 barcode; another member's voucher: 404."""
    return _voucher_image(request, code, codes.code128_svg)


@login_required
@require_POST
def voucher_cancel_view(request, code: str):
    member = _member(request)
    if member is None:
        return _no_member(request)
    voucher = _voucher_or_404(member, code)
    try:
        voucher_cancel(voucher=voucher, member=member)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("rewards:voucher", voucher.code)
    messages.success(
        request,
        _("Voucher cancelled: %(points)s points are back in your account.")
        % {"points": voucher.points_spent},
    )
    return redirect("rewards:vouchers")
