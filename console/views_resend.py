"""Send a member's voucher code again (``/staff/member/<id>/voucher/<id>/resend/``): choose
SMS or email and say why; ``campaigns.services.resend.voucher_resend`` delivers to the
member's own phone or email and audits it. A refusal shows the form again (400)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.services.resend import voucher_resend
from console.forms_actions import ReasonForm
from console.views_base import console_context, staff_view
from loyalty.errors import DomainError
from rewards.models import Voucher


class ResendForm(ReasonForm):
    channel = forms.ChoiceField(
        label=gettext_lazy("Send by"),
        choices=[("sms", gettext_lazy("SMS")), ("email", gettext_lazy("Email"))],
        widget=forms.RadioSelect,
        initial="sms",
    )
    field_order = ["channel", "reason"]


@staff_view("members.view_member", "rewards.view_voucher", "members.change_member")
def voucher_resend_view(request, member_id: int, voucher_id: int):
    voucher = (
        Voucher.objects.select_related("member", "reward")
        .filter(pk=voucher_id, member_id=member_id)
        .first()
    )
    if voucher is None:
        raise Http404(_("There is no such voucher."))
    member = voucher.member
    form = ResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            voucher_resend(
                voucher=voucher,
                channel=form.cleaned_data["channel"],
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The voucher was sent again."))
            return redirect(reverse("console:member", args=[member.pk]) + "#vouchers")
    response = render(
        request,
        "console/actions/resend.html",
        console_context(
            request, title=_("Send the voucher again"), member=member, voucher=voucher, form=form
        ),
    )
    if request.method == "POST":
        response.status_code = 400
    return response
