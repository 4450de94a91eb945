"""The host's own data, in Django's database: a note per Afisha user."""

from django.db import models


class Note(models.Model):
    """Something the host app keeps about an Afisha user (by the user's id)."""

    afisha_user_id = models.UUIDField()
    text = models.CharField(max_length=200)
