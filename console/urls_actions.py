"""The member page's staff actions (see console/urls.py)."""

from django.urls import path

from console import views_actions

urlpatterns = [
    path("member/<int:member_id>/adjust/", views_actions.member_adjust, name="member_adjust"),
    path("member/<int:member_id>/block/", views_actions.member_block_view, name="member_block"),
    path(
        "member/<int:member_id>/unblock/",
        views_actions.member_unblock_view,
        name="member_unblock",
    ),
    path("member/<int:member_id>/goodwill/", views_actions.member_goodwill, name="member_goodwill"),
    path("member/<int:member_id>/tier/", views_actions.member_tier, name="member_tier"),
    path("member/<int:member_id>/link/", views_actions.member_link, name="member_link"),
]
