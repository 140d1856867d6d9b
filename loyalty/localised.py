"""Programme content kept in two languages on a row: ``name`` (Vietnamese, required) and
``name_en`` (English, optional). Members read the English text when their language is English
and staff entered one, the Vietnamese otherwise (it is never empty).

One mechanism for every model that members read (tiers, rewards, promotions, the programme's
name, programme dates): the model keeps ``<field>`` and ``<field>_en`` side by side, mixes in
``LocalisedTextMixin``, and every page, message and API reads ``obj.localised("field")`` (the
active language: pages, the API with Accept-Language) or ``obj.localised("field",
language=member_language)`` (a message sent in the member's language, whatever is active).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language


def language_code(language: str | None = None) -> str:
    """``"vi"`` or ``"en"``: the given language, else the active one, else the programme's."""
    code = (language or get_language() or settings.LANGUAGE_CODE or "vi").lower()
    return code.split("-")[0].split("_")[0]


def localised(obj, field: str, language: str | None = None) -> str:
    """``obj.<field>_en`` when ``language`` (default: the active one) is English and it is
    filled in, ``obj.<field>`` otherwise. Works on any object with the two attributes (a
    model instance, a ``.values()`` dict is not one: use ``localised_value``)."""
    if language_code(language) != "vi":
        english = getattr(obj, f"{field}_en", "") or ""
        if english.strip():
            return english
    return getattr(obj, field) or ""


def localised_value(row: dict, field: str, language: str | None = None) -> str:
    """The same choice for a dict (a ``.values()`` row, a cached summary)."""
    if language_code(language) != "vi":
        english = row.get(f"{field}_en") or ""
        if english.strip():
            return english
    return row.get(field) or ""


class LocalisedTextMixin:
    """``obj.localised("field", language=None)`` and the ``<field>_local`` properties templates
    use (``{{ tier.name_local }}``). ``localised_fields`` names the fields the model keeps in
    both languages (for the admin's side-by-side layout and the leak tests)."""

    localised_fields: tuple[str, ...] = ("name", "description")

    def localised(self, field: str, language: str | None = None) -> str:
        return localised(self, field, language)

    @property
    def name_local(self) -> str:
        return self.localised("name")

    @property
    def description_local(self) -> str:
        return self.localised("description")
