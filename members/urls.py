from django.urls import path

from members import views, views_privacy

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("points/", views.points_history, name="points"),
    path("profile/", views.profile, name="profile"),
    path("consents/", views.consents, name="consents"),
    path("card.svg", views.card_qr, name="card_qr"),
    path("card/", views.card, name="card"),
    path("card-barcode.svg", views.card_barcode, name="card_barcode"),
    path("my-data/", views_privacy.my_data, name="my_data"),
    path("my-data/export/", views_privacy.my_data_export, name="my_data_export"),
    path("my-data/withdraw-consents/", views_privacy.my_data_withdraw, name="my_data_withdraw"),
    path("my-data/delete/", views_privacy.my_data_delete, name="my_data_delete"),
    path("my-data/deleted/", views_privacy.my_data_deleted, name="my_data_deleted"),
]
