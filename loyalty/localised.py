"""Text kept in two languages on a row: ``name`` (Vietnamese, required) and ``name_en``."""

from __future__ import annotations

from django.utils.translation import get_language


class LocalisedTextMixin:
    """``name_local`` and ``description_local`` for models with ``name``/``name_en`` and
    ``description``/``description_en``: the English text when English is active and there
    is one, the Vietnamese otherwise."""

    def localised(self, field: str) -> str:
        english = getattr(self, f"{field}_en", "")
        if english and (get_language() or "").startswith("en"):
            return english
        return getattr(self, field)

    @property
    def name_local(self) -> str:
        return self.localised("name")

    @property
    def description_local(self) -> str:
        return self.localised("description")
