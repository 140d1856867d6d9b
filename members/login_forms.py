"""allauth's login forms with one "phone or email" field (``ACCOUNT_FORMS``).

Apart from ``members.forms`` because allauth's forms module imports the sign-up form class
(``ACCOUNT_SIGNUP_FORM_CLASS = members.forms.SignupForm``) when it loads.
"""

from __future__ import annotations

from allauth.account import forms as allauth_forms
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.identifiers import phone_looks_like, phone_normalize


def _phone_or_email(raw: str) -> tuple[str, str]:
    """``("email", address)`` or ``("phone", e164)`` for what was typed in a "phone or
    email" field; ``ValidationError`` when it is neither."""
    text = (raw or "").strip()
    if "@" in text:
        return "email", forms.EmailField().clean(text).lower()
    return "phone", phone_normalize(text)


_LOGIN_WIDGET_ATTRS = {
    "autocomplete": "username",
    "autocapitalize": "none",
    "spellcheck": "false",
    "placeholder": _("For example 0912 345 678."),
}


class LoginForm(allauth_forms.LoginForm):
    """allauth's login with one "phone or email" field: a phone in any Vietnamese form is
    turned into E.164 before allauth looks it up (``ACCOUNT_FORMS["login"]``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["login"]
        field.label = _("Phone or email")
        field.widget.attrs.update(_LOGIN_WIDGET_ATTRS)

    def clean_login(self):
        text = super().clean_login()
        if "@" in text or not phone_looks_like(text):
            return text
        try:
            return phone_normalize(text)
        except ValidationError:
            return text  # allauth answers "not correct", the same as for a wrong password


class RequestLoginCodeForm(allauth_forms.RequestLoginCodeForm):
    """ "Send me a code" with one "phone or email" field (``ACCOUNT_FORMS``). allauth's
    checks stay: rate limits per phone/email and IP, and no answer that tells whether an
    account exists."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields.pop("phone", None)
        self.fields["login"] = forms.CharField(
            label=_("Phone or email"),
            max_length=254,
            help_text=_("We send a one-time code by SMS (or by email)."),
            widget=forms.TextInput(attrs=dict(_LOGIN_WIDGET_ATTRS)),
        )

    def clean_login(self):
        kind, value = _phone_or_email(self.cleaned_data["login"])
        self.cleaned_data[kind] = value
        try:
            if kind == "phone":
                super().clean_phone()
            else:
                super().clean_email()
        except ValidationError as exc:
            if getattr(exc, "code", None) == "too_many_login_attempts":
                # allauth says "too many failed logins"; here nothing failed yet.
                raise ValidationError(
                    _("Too many codes asked for. Wait a few minutes, then try again."),
                    code="too_many_codes",
                ) from None
            raise
        return value


class _CodeInputMixin:
    """Phone codes are six digits: the number pad on a phone. Email codes have letters."""

    def _for_phone(self) -> bool:
        return True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        attrs = self.fields["code"].widget.attrs
        attrs.update({"autocomplete": "one-time-code", "spellcheck": "false"})
        if self._for_phone():
            attrs.update({"inputmode": "numeric", "pattern": "[0-9]*", "placeholder": "123456"})
        else:
            attrs["autocapitalize"] = "characters"


class ConfirmLoginCodeForm(_CodeInputMixin, allauth_forms.ConfirmLoginCodeForm):
    def _for_phone(self) -> bool:
        """Whether the pending login's code went to a phone: asked of the login under way,
        never of the code (an unknown phone has none, and the page must look the same)."""
        from allauth.account.stages import LoginByCodeStage, LoginStageController
        from allauth.core import context

        if context.request is None:
            return False
        stage = LoginStageController.enter(context.request, LoginByCodeStage.key)
        return bool(stage and stage.state.get("phone"))


class VerifyPhoneForm(_CodeInputMixin, allauth_forms.VerifyPhoneForm):
    pass
