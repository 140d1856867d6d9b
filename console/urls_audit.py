"""The audit log (see console/urls.py)."""

from django.urls import path

from console import views_audit

urlpatterns = [
    path("audit/", views_audit.audit_log, name="audit"),
]
