"""The member portal's promotions pages: my referrals (share link, QR code, who joined and
what it earned), the promotions running now, and reviewing recent purchases."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty import codes
from loyalty.errors import DomainError
from members.models import Member
from members.selectors import member_for_user
from promotions.forms import PurchaseReviewForm
from promotions.models import ActivityBonus
from promotions.selectors import (
    activity_bonus_points,
    promotions_running,
    referral_program_get,
    referrals_of_member,
    reviewable_purchases,
)
from promotions.services import purchase_review_submit
from tiers.selectors import tier_of_member


def _no_member(request):
    return render(request, "members/no_member.html", status=403)


def referral_share_url(request, member: Member) -> str:
    """The sign-up page with the member's code filled in."""
    query = urlencode({"ref": member.referral_code})
    return request.build_absolute_uri(f"{reverse('account_signup')}?{query}")


@login_required
def my_referrals(request):
    member = member_for_user(request.user)
    if member is None:
        return _no_member(request)
    share_url = referral_share_url(request, member)
    return render(
        request,
        "promotions/referrals.html",
        {
            "member": member,
            "share_url": share_url,
            "qr_src": codes.data_url(codes.qr_svg(share_url)),
            "rules": referral_program_get(),
            "mine": referrals_of_member(member),
        },
    )


@login_required
def running_promotions(request):
    member = member_for_user(request.user)
    if member is None:
        return _no_member(request)
    tier = tier_of_member(member.pk)
    promotions = promotions_running(at=timezone.now())
    return render(
        request,
        "promotions/promotions.html",
        {
            "member": member,
            "tier": tier,
            "promotions": promotions,
            "review_points": activity_bonus_points(ActivityBonus.Kind.PURCHASE_REVIEW),
            "profile_points": activity_bonus_points(ActivityBonus.Kind.PROFILE_COMPLETED),
        },
    )


@login_required
def reviews(request):
    """The member's purchases of the last 30 days, each with a small rating form; saving
    one pays the review bonus once."""
    member = member_for_user(request.user)
    if member is None:
        return _no_member(request)
    purchases = reviewable_purchases(member)
    if request.method == "POST":
        form = PurchaseReviewForm(request.POST)
        if form.is_valid():
            purchase = purchases.filter(pk=form.cleaned_data["purchase"]).first()
            if purchase is None:
                messages.error(request, _("This purchase cannot be reviewed."))
                return redirect("promotions:reviews")
            try:
                review = purchase_review_submit(
                    member=member,
                    purchase=purchase,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            except (DomainError, ValidationError) as exc:
                text = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
                messages.error(request, text)
            else:
                if review.bonus_entry_id:
                    messages.success(
                        request,
                        _("Thank you! %(points)s points were added.")
                        % {"points": review.bonus_entry.available_delta},
                    )
                else:
                    messages.success(request, _("Thank you for your review!"))
            return redirect("promotions:reviews")
        messages.error(request, _("Choose a rating from 1 to 5 stars."))
        return redirect("promotions:reviews")
    return render(
        request,
        "promotions/reviews.html",
        {
            "member": member,
            "purchases": list(purchases[:30]),
            "review_points": activity_bonus_points(ActivityBonus.Kind.PURCHASE_REVIEW),
            "form": PurchaseReviewForm(),
        },
    )
