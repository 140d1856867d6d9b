from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.selectors import member_find
from rewards.models import Reward


class PartnerCodesUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("One code per line in the first column; a header row 'code' is allowed."),
    )


class GoodwillVoucherForm(forms.Form):
    member = forms.CharField(
        label=_("Member"), help_text=_("Card number, phone or email."), max_length=120
    )
    reward = forms.ModelChoiceField(label=_("Reward"), queryset=Reward.objects.order_by("name"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_member(self):
        member = member_find(self.cleaned_data["member"])
        if member is None:
            raise forms.ValidationError(_("No member with this card number, phone or email."))
        return member
