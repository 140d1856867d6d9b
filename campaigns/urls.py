"""The member portal's messages (mounted at ``/me/messages/``). The unsubscribe link is
mounted apart, without login: ``campaigns.views.unsubscribe``."""

from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.messages_list, name="messages"),
    path("<int:pk>/read/", views.message_read, name="message_read"),
    path("read/", views.messages_read_all, name="messages_read_all"),
]
