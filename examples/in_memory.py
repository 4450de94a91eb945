"""The core on its in-memory adapters: sign up, publish, join, wait, get reminded.

Run it with ``python examples/in_memory.py`` (``pip install afisha-core`` is enough).
"""

import asyncio
import re
from datetime import timedelta

from afisha_core.app import Afisha
from afisha_core.domain import EventView, User
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
)
from afisha_core.usecases import EventDraft


async def sign_up(afisha: Afisha, mailer: RecordingMailer, name: str) -> User:
    """Register ``name`` and confirm with the code that arrives by email."""
    token = await afisha.accounts.register(f"{name}@example.org", name, name.title(), "s3cret-pass")
    await afisha.mail.deliver_due()  # the outbox is sent by the scheduler in production
    mail = mailer.last_to(f"{name}@example.org")
    found = re.search(r"code is (\d{6})", mail.text if mail else "")
    if found is None:
        raise RuntimeError(f"no code was mailed to {name}")
    return (await afisha.accounts.confirm(token, found.group(1))).user


def status(view: EventView) -> str:
    """The viewer's status at the event, as the API shows it."""
    return view.my_status.value if view.my_status else "none"


async def main() -> None:
    """Play one event from publication to its reminder."""
    clock, mailer = FakeClock(), RecordingMailer()
    afisha = Afisha(
        uow=InMemoryDatabase(),
        hasher=FastPasswordHasher(),
        clock=clock,
        limiter=InMemoryRateLimiter(clock),
        storage=InMemoryObjectStorage(),
        mailer=mailer,
    )
    admin = await afisha.accounts.create_administrator("boss@example.org", "boss", "s3cret-pass")
    starts = clock.now() + timedelta(days=2)
    draft = EventDraft(
        name="Jazz night",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        timezone="Europe/Moscow",
        max_participants_count=1,
    )
    event = (await afisha.events.create(admin, draft)).event
    ann, bob = await sign_up(afisha, mailer, "ann"), await sign_up(afisha, mailer, "bob")

    view = await afisha.participation.join(ann, event.id)
    print(f"ann joins {event.name!r}: {status(view)}, spots left: {view.spots_left}")
    view = await afisha.participation.join(bob, event.id, waitlist=True)
    print(f"bob asks to wait: {status(view)}, waiting: {view.waitlist_count}")
    await afisha.participation.leave(ann, event.id)
    view = await afisha.events.get(bob, event.id)
    print(f"ann leaves, so bob is promoted: {status(view)}")

    clock.advance(timedelta(days=1, hours=1))  # now the event starts within 24 hours
    print(f"reminders queued: {await afisha.reminders.send_due()}")
    report = await afisha.mail.deliver_due()
    print(f"emails sent: {report.sent}")
    for mail in mailer.sent:
        if mail.to == "bob@example.org":
            print(f"  to bob: {mail.subject}")


if __name__ == "__main__":
    asyncio.run(main())
