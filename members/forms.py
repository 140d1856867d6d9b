"""Forms of the member portal. They collect and show errors; services do the writing."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.identifiers import phone_normalize, referral_code_clean
from members.models import Member
from members.provinces import PROVINCE_CHOICES


class PhoneField(forms.CharField):
    """A mobile number in any Vietnamese form (0912 345 678, +84 912345678, 84912345678),
    cleaned to E.164. allauth's phone fields use it too (``AccountAdapter.phone_form_field``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile phone"))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", _("For example 0912 345 678."))
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"},
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return phone_normalize(value) if value else value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ProfileFieldsMixin(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("For example 0912 345 678."),
    )
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DateInput())
    gender = forms.ChoiceField(
        label=_("Gender"),
        required=False,
        choices=[("", _("Prefer not to say")), *Member.Gender.choices],
    )
    province = forms.ChoiceField(
        label=_("Province/city"), required=False, choices=[("", "—"), *PROVINCE_CHOICES]
    )
    occupation = forms.CharField(label=_("Occupation"), max_length=100, required=False)

    def clean_phone(self):
        return phone_normalize(self.cleaned_data["phone"])

    def clean_full_name(self):
        return " ".join(self.cleaned_data["full_name"].split())


class ConsentFieldsMixin(forms.Form):
    email_consent = forms.BooleanField(label=_("Send me offers and news by email"), required=False)
    sms_consent = forms.BooleanField(label=_("Send me offers and news by SMS"), required=False)


class SignupForm(ProfileFieldsMixin, ConsentFieldsMixin):
    """Extra fields on allauth's sign-up; the adapter creates the member from them.

    ``referral_code`` is prefilled from the share link's ``?ref=CODE`` (the request comes
    from allauth's request context, set by its middleware)."""

    field_order = ["email", "full_name", "phone", "password1", "password2", "birth_date"]

    referral_code = forms.CharField(
        label=_("Referral code"),
        max_length=32,
        required=False,
        help_text=_("A friend's code, if they invited you."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from allauth.core import context

        request = context.request
        ref = referral_code_clean(request.GET.get("ref", "")) if request is not None else ""
        if ref and len(ref) <= 32:
            self.fields["referral_code"].initial = ref

    def clean_referral_code(self):
        code = referral_code_clean(self.cleaned_data.get("referral_code", ""))
        if code and not Member.objects.filter(referral_code=code).exists():
            raise ValidationError(_("No member has this referral code."))
        return code

    def clean_phone(self):
        # allauth's field has already given E.164; empty when its "phone" sign-up field is
        # optional (staff have no phone), so the "required" error comes from here.
        phone = super().clean_phone()
        if Member.objects.filter(phone=phone, user__isnull=False).exists():
            raise ValidationError(
                _(
                    "This phone number already has an account. Log in with it: we can "
                    "send you a code by SMS."
                ),
                code="phone_has_account",
            )
        # A member enrolled at the till (no login yet) may sign up with this phone: the
        # login is attached to their card once a code sent to the phone proves it's theirs.
        return phone

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if not email:
            return cleaned
        till_member = Member.objects.filter(email__iexact=email, user__isnull=True).first()
        if till_member is not None and till_member.phone != cleaned.get("phone"):
            self.add_error(
                "email",
                _(
                    "This email address belongs to a member who joined at a store. Sign up "
                    "with the phone number you gave at the store to use that card online."
                ),
            )
        return cleaned

    def signup(self, request, user):
        """Called by allauth after the user is saved; the adapter already did the work."""


class ProfileForm(ProfileFieldsMixin):
    # The phone logs in (a code by SMS), so a new one is proven by a code first: the portal's
    # /accounts/phone/change/ and the app's /_allauth/app/v1/account/phone, never this form.
    phone = None
    language = forms.ChoiceField(
        label=_("Language of messages"),
        choices=Member._meta.get_field("language").choices,
        initial="vi",
    )


class ConsentForm(ConsentFieldsMixin):
    pass
