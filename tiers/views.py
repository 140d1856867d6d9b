"""The member's tier page in the portal: where they stand, what the next tier needs, and what
keeping theirs needs by which date. (A page of the tiers app: the members app, lower down,
links to it by URL name only.)"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from members.selectors import member_for_user
from tiers.models import TierChange
from tiers.selectors import tier_progress, tier_progress_lines, tiers_ordered


@login_required
def my_tier(request):
    member = member_for_user(request.user)
    if member is None:
        return render(request, "members/no_member.html", status=403)
    progress = tier_progress(member.pk)
    return render(
        request,
        "tiers/my_tier.html",
        {
            "progress": progress,
            "lines": tier_progress_lines(progress),
            "tiers": tiers_ordered(),
            "history": TierChange.objects.filter(member=member)
            .select_related("from_tier", "to_tier")
            .order_by("-at", "-id")[:10],
        },
    )
