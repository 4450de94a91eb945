"""The composition root of the host: the Afisha core over PostgreSQL, opened once per loop.

The connection pool belongs to the event loop that opened it; under an ASGI server
there is one loop, so the core is opened on first use and kept.
"""

import asyncio

from django.conf import settings

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.app import Afisha
from afisha_core.clock import SystemClock
from afisha_core.limiter import InProcessRateLimiter
from afisha_core.settings import Settings
from afisha_obstore import ObstoreStorage
from afisha_postgres import PostgresDatabase, split_schema
from afisha_smtp import EmlFileMailer

_afisha: Afisha | None = None
_lock = asyncio.Lock()


async def get_afisha() -> Afisha:
    """The core, its PostgreSQL pool opened on the first call."""
    global _afisha  # noqa: PLW0603 - one core per process
    async with _lock:
        if _afisha is None:
            conninfo, schema = split_schema(settings.AFISHA_DATABASE_URL)
            database = PostgresDatabase(conninfo, schema=schema or "afisha")
            await database.open(wait=True)
            clock = SystemClock()
            _afisha = Afisha(
                uow=database,
                hasher=Argon2PasswordHasher(),
                clock=clock,
                limiter=InProcessRateLimiter(clock),
                storage=ObstoreStorage.local(settings.DATA_DIR / "media"),
                mailer=EmlFileMailer(settings.DATA_DIR / "outbox"),
                settings=Settings(public_url=settings.AFISHA_PUBLIC_URL),
            )
        return _afisha


async def close_afisha() -> None:
    """Close the core's connection pool (at shutdown)."""
    global _afisha  # noqa: PLW0603 - one core per process
    async with _lock:
        if _afisha is not None:
            database = _afisha.uow
            if isinstance(database, PostgresDatabase):
                await database.close()
            _afisha = None
