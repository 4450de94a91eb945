"""The app's configuration."""

from django.apps import AppConfig


class AfishaEventsConfig(AppConfig):
    """Events from Afisha, notes in Django's own database."""

    name = "afisha_events"
    default_auto_field = "django.db.models.BigAutoField"
