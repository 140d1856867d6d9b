"""A member's personal-data requests from the member page (see console/urls.py)."""

from django.urls import path

from console import views_privacy

urlpatterns = [
    path("member/<int:member_id>/export/", views_privacy.member_export, name="member_export"),
    path("member/<int:member_id>/erase/", views_privacy.member_erase_view, name="member_erase"),
]
