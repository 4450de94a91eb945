r"""Run the example host once, through Django's own async test client, and print the journey.

Django's ``migrate`` creates the host's table in Django's database and applies Afisha's
migrations into their PostgreSQL schema; then a client logs in with an Afisha account,
lists and joins an event, and keeps a note in the host's table. ::

    pip install "afisha-server[postgres-binary,argon2,smtp,s3]" django
    AFISHA_DATABASE_URL='postgresql://postgres@127.0.0.1:5432/postgres?schema=afisha' \\
        python examples/django_app/demo.py
"""

import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "host.settings")
os.environ.setdefault("HOST_DATA_DIR", tempfile.mkdtemp(prefix="django-host-"))

import django

django.setup()

from afisha_events.core import close_afisha, get_afisha  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import AsyncClient  # noqa: E402

from afisha_core.usecases import EventDraft  # noqa: E402

PASSWORD = "the django demo passphrase"  # noqa: S105 - a demo account, made below


async def journey() -> None:
    """Seed an event through the core, then act as a client of the host's views."""
    afisha = await get_afisha()
    boss = await afisha.accounts.create_administrator("boss@example.org", "boss", PASSWORD)
    starts = datetime.now(UTC) + timedelta(days=7)
    draft = EventDraft(name="Jazz", starts_at=starts, ends_at=starts + timedelta(hours=2))
    event = (await afisha.events.create(boss, draft)).event

    client = AsyncClient()
    print("me without a token:", (await client.get("/me")).status_code)
    login = await client.post(
        "/login", {"login": "boss", "password": PASSWORD}, content_type="application/json"
    )
    token = login.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    me = (await client.get("/me", headers=auth)).json()
    print("me:", me["username"], "secrets:", sorted({"password_hash", "token_hash"} & set(me)))
    listed = (await client.get("/events", headers=auth)).json()["items"]
    print("events:", [(e["name"], e["my_status"]) for e in listed])
    joined = (await client.post(f"/events/{event.id}/join", headers=auth)).json()
    print("joined:", joined["my_status"], "spots left:", joined["spots_left"])
    await client.post("/notes", {"text": "bring a trumpet"}, content_type="application/json",
                      headers=auth)  # fmt: skip
    print("notes:", (await client.get("/notes", headers=auth)).json()["items"])
    await close_afisha()


def main() -> None:
    """Migrate both databases with Django's command, then run the journey."""
    call_command("migrate", verbosity=0)
    print("migrated")
    asyncio.run(journey())


if __name__ == "__main__":
    main()
