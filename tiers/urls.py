from django.urls import path

from tiers import views

app_name = "tiers"

urlpatterns = [
    path("", views.my_tier, name="my_tier"),
]
