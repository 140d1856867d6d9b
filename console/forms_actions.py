"""Forms of the member page's staff actions: every action that changes points, status,
vouchers or tiers needs a reason."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.selectors_actions import login_without_member
from rewards.models import Reward
from tiers.models import Tier

MAX_ADJUST = 1_000_000


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why."))
        return reason


class AdjustPointsForm(ReasonForm):
    points = forms.IntegerField(
        label=_("Points (+ to add, - to deduct)"), min_value=-MAX_ADJUST, max_value=MAX_ADJUST
    )
    field_order = ["points", "reason"]

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."))
        return points


class GoodwillVoucherForm(ReasonForm):
    reward = forms.ModelChoiceField(
        label=_("Reward"),
        queryset=Reward.objects.filter(is_active=True).order_by("name", "pk"),
        empty_label=None,
    )
    field_order = ["reward", "reason"]


class SetTierForm(ReasonForm):
    tier = forms.ModelChoiceField(
        label=_("Tier"), queryset=Tier.objects.order_by("rank"), empty_label=None
    )
    locked_until = forms.DateField(
        label=_("Locked until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional: no downgrade before this day."),
    )
    field_order = ["tier", "locked_until", "reason"]

    def clean_locked_until(self):
        day = self.cleaned_data["locked_until"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError(_("A lock ends on a day after today."))
        return day


class LinkAccountForm(forms.Form):
    """The online account to attach to ``member``, enrolled at the till, named by its email:
    a member's own login (no staff account) that belongs to no member yet. The member's own
    phone is the one claimed, so a member without a phone cannot be linked here."""

    email = forms.EmailField(label=_("Email of the online account"))

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member

    def clean(self):
        cleaned = super().clean()
        if not self.member.phone:
            raise forms.ValidationError(
                _("This member has no phone number: add one to the profile first.")
            )
        email = cleaned.get("email")
        if email:
            cleaned["user"] = login_without_member(email)
            if cleaned["user"] is None:
                self.add_error("email", _("No online account without a membership has this email."))
        return cleaned
