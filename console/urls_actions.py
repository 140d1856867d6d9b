"""Filled by its owner (see console/urls.py)."""

urlpatterns: list = []
