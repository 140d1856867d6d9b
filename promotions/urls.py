from django.urls import path

from promotions import views

app_name = "promotions"

# Mounted under /me/ (loyalty/urls.py), before the members' own portal pages.
urlpatterns = [
    path("referrals/", views.my_referrals, name="referrals"),
    path("promotions/", views.running_promotions, name="promotions"),
    path("promotions/reviews/", views.reviews, name="reviews"),
]
