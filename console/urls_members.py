"""Member search and the member 360 page (console/views_members.py)."""

from django.urls import path

from console import views_members

urlpatterns = [
    path("find/", views_members.find, name="find"),
    path("member/<int:member_id>/", views_members.member, name="member"),
]
