"""A member's vouchers from the member page (see console/urls.py)."""

from django.urls import path

from console import views_resend

urlpatterns = [
    path(
        "member/<int:member_id>/voucher/<int:voucher_id>/resend/",
        views_resend.voucher_resend_view,
        name="voucher_resend",
    ),
]
