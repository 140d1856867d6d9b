"""The member's side of campaigns: their in-app notifications (portal) and the unsubscribe
link of the emails, which works without logging in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.rendering import unsubscribe_read
from campaigns.selectors import notifications_of_member
from campaigns.services.notifications import notification_mark_read, notifications_mark_all_read
from members.models import ConsentEvent, Member
from members.selectors import member_for_user
from members.services import member_set_consent

PAGE_SIZE = 50


def _member(request) -> Member | None:
    return member_for_user(request.user)


def _no_member(request):
    return render(request, "members/no_member.html", status=403)


@login_required
def messages_list(request):
    member = _member(request)
    if member is None:
        return _no_member(request)
    notifications = list(notifications_of_member(member)[:PAGE_SIZE])
    unread = sum(1 for notification in notifications if notification.read_at is None)
    return render(
        request,
        "campaigns/messages.html",
        {"member": member, "notifications": notifications, "unread": unread},
    )


@login_required
@require_POST
def message_read(request, pk: int):
    member = _member(request)
    if member is None:
        return _no_member(request)
    if not notification_mark_read(member=member, notification_id=pk):
        raise Http404
    return redirect("campaigns:messages")


@login_required
@require_POST
def messages_read_all(request):
    member = _member(request)
    if member is None:
        return _no_member(request)
    notifications_mark_all_read(member=member)
    return redirect("campaigns:messages")


@csrf_exempt  # the signed token is the proof; mail clients post one-click unsubscribes
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET asks to confirm (link scanners open links); POST, from the page's button or a
    mail client's one-click unsubscribe (RFC 8058), turns the channel's consent off."""
    found = unsubscribe_read(token)
    member = Member.objects.filter(pk=found[0]).first() if found else None
    if member is None:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
    channel = found[1]
    channel_label = _("email") if channel == "email" else _("SMS")
    if request.method == "POST":
        member_set_consent(
            member=member,
            channel=channel,
            granted=False,
            source=ConsentEvent.Source.UNSUBSCRIBE,
        )
        return render(
            request, "campaigns/unsubscribe.html", {"done": True, "channel": channel_label}
        )
    return render(
        request,
        "campaigns/unsubscribe.html",
        {
            "channel": channel_label,
            "already": not getattr(member, f"{channel}_consent"),
            "token": token,
        },
    )
