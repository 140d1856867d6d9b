"""Logging out clears what the browser keeps of the site: the service worker's copy of the
card, its caches and the worker itself (``Clear-Site-Data: "cache", "storage"``), so the
next person on a shared phone finds no card offline.

``user_logged_out`` marks the request (allauth's logout, the admin's, any other); the
middleware puts the header on that request's response.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

CLEAR_SITE_DATA = '"cache", "storage"'


@receiver(user_logged_out, dispatch_uid="members.pwa.clear_site_data")
def _mark_logout(sender, request=None, **kwargs):
    if request is not None:
        request.clear_site_data = True


class ClearSiteDataOnLogoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "clear_site_data", False):
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
