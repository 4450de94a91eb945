"""The host's own table, and Afisha's schema applied by Django's ``migrate``."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import migrations, models

import afisha_postgres


def apply_afisha_migrations(_apps: Any, _schema_editor: Any) -> None:
    """Afisha's own SQL, in its own PostgreSQL schema (idempotent: only what is missing)."""
    conninfo, schema = afisha_postgres.split_schema(settings.AFISHA_DATABASE_URL)
    afisha_postgres.migrate(conninfo, schema=schema or "afisha")


class Migration(migrations.Migration):
    """The first migration of the example app."""

    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("afisha_user_id", models.UUIDField()),
                ("text", models.CharField(max_length=200)),
            ],
        ),
        migrations.RunPython(apply_afisha_migrations, migrations.RunPython.noop, atomic=False),
    ]
