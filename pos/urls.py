from django.urls import path

from pos import apis

app_name = "pos"

urlpatterns = [
    path("program/", apis.ProgramApi.as_view(), name="program"),
]
