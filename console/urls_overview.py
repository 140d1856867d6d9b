"""The programme overview: its page, CSV downloads (console/views_overview.py) and its
figures as JSON for staff sessions (console/views_api.py)."""

from django.urls import path

from console import views_api, views_overview

urlpatterns = [
    path("overview/", views_overview.overview, name="overview"),
    path("overview.csv", views_overview.overview_csv, name="overview_csv"),
    path("api/overview/", views_api.overview, name="overview_api"),
]
