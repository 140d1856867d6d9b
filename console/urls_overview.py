"""The programme overview: its page, CSV downloads (console/views_overview.py) and its
figures as JSON for staff sessions (console/views_api.py)."""

from django.urls import path

from console import views_api

urlpatterns = [
    path("api/overview/", views_api.overview, name="overview_api"),
]
