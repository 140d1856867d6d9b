from django.urls import path

app_name = "member_api"

urlpatterns: list = []
