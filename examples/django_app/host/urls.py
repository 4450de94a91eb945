"""The host's URLs: its own routes over the Afisha core."""

from afisha_events import views
from django.urls import path

urlpatterns = [
    path("login", views.login),
    path("me", views.me),
    path("events", views.events),
    path("events/<uuid:event_id>/join", views.join),
    path("notes", views.notes),
]
