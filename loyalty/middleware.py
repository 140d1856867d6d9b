"""Vietnamese first: pages are in Vietnamese unless the visitor chose another language."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, except that a browser's Accept-Language alone does not
    switch the pages away from ``LANGUAGE_CODE``: many phones in Vietnam are set to English
    while their owners expect the shop's site in Vietnamese. Choosing a language in the
    footer (the language cookie) does switch. The API keeps Accept-Language, so a POS can
    ask for English error messages, and so does the mobile app's login (``/_allauth/``)."""

    def process_request(self, request):
        chose = settings.LANGUAGE_COOKIE_NAME in request.COOKIES
        if chose or request.path.startswith(("/api/", "/_allauth/")):
            return super().process_request(request)
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
        return None
