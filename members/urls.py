from django.urls import path

from members import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("points/", views.points_history, name="points"),
    path("profile/", views.profile, name="profile"),
    path("consents/", views.consents, name="consents"),
    path("card.svg", views.card_qr, name="card_qr"),
    path("card/", views.card, name="card"),
    path("card-barcode.svg", views.card_barcode, name="card_barcode"),
]
