"""Forms of the promotions pages and admin. They collect and show errors; services write."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from promotions.models import Promotion
from promotions.models.promotions import WEEKDAYS


def _split(text: str) -> list[str]:
    parts = [part.strip() for part in (text or "").replace("\n", ",").split(",")]
    return list(dict.fromkeys(part for part in parts if part))


class PromotionAdminForm(forms.ModelForm):
    """Days as check boxes, categories and SKUs as comma-separated lists; the model's
    ``clean`` checks the fields each kind needs."""

    days_of_week = forms.TypedMultipleChoiceField(
        label=_("Days of the week"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("In the programme's time zone. None ticked: every day."),
    )
    categories = forms.CharField(
        label=_("Categories"),
        required=False,
        help_text=_("Comma-separated, as the POS sends them (case-insensitive). Empty: all."),
    )
    skus = forms.CharField(
        label=_("SKUs"), required=False, help_text=_("Comma-separated. Empty: all items.")
    )

    class Meta:
        model = Promotion
        fields = [
            "code",
            "name",
            "name_en",
            "description",
            "description_en",
            "kind",
            "multiplier",
            "bonus_points",
            "min_amount",
            "stacking",
            "starts_at",
            "ends_at",
            "days_of_week",
            "start_time",
            "end_time",
            "tiers",
            "segment",
            "stores",
            "categories",
            "skus",
            "cap_points_per_member",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["categories"] = ", ".join(self.instance.categories or [])
            self.initial["skus"] = ", ".join(self.instance.skus or [])

    def clean_days_of_week(self):
        return sorted(set(self.cleaned_data.get("days_of_week") or []))

    def clean_categories(self):
        return [c.lower() for c in _split(self.cleaned_data.get("categories"))]

    def clean_skus(self):
        return _split(self.cleaned_data.get("skus"))

    def clean_segment(self):
        code = (self.cleaned_data.get("segment") or "").strip()
        if code:
            from campaigns.models import Segment

            if not Segment.objects.filter(code=code).exists():
                raise ValidationError(_("No segment has this code."))
        return code


class PurchaseReviewForm(forms.Form):
    purchase = forms.IntegerField(widget=forms.HiddenInput)
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to tell us? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReportRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    @classmethod
    def default_range(cls):
        today = timezone.localdate()
        return today - timedelta(days=29), today

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            raise ValidationError(_("The end is before the start."))
        return cleaned
