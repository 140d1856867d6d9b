"""Forms of the member page's staff actions: every action needs a reason."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
