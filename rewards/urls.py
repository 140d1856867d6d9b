from django.urls import path

from rewards import views

app_name = "rewards"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<int:reward_id>/", views.reward_detail, name="reward"),
    path("vouchers/", views.my_vouchers, name="vouchers"),
    path("vouchers/<str:code>/", views.voucher_detail, name="voucher"),
    path("vouchers/<str:code>/cancel/", views.voucher_cancel_view, name="voucher_cancel"),
    path("vouchers/<str:code>/qr.svg", views.voucher_qr, name="voucher_qr"),
    path("vouchers/<str:code>/barcode.svg", views.voucher_barcode, name="voucher_barcode"),
]
