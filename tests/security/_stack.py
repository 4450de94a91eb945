"""An Afisha on any database and hasher, driven through HTTP, for the attack suites.

:class:`tests.support.world.World` is the core on in-memory fakes. The security suite
needs the same thing on a real store (a SQLite file, or PostgreSQL) so it can read
what really lands in the tables, and sometimes with the real argon2 hasher so timing
means something. :class:`Stack` is that: the fakes for clock, mail, tokens, storage
and rate limits, and whatever unit-of-work factory and hasher the test gives.

Set-up the API cannot do (an administrator exists only through the operator's
command) goes through the core; everything a test asserts goes through HTTP.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from datetime import datetime
from pathlib import Path
from typing import Any, Self, cast

import attrs
import httpx
import psycopg
from psycopg import sql
from starlette.applications import Starlette

from afisha_core.app import Afisha
from afisha_core.domain import Email, User
from afisha_core.ports import (
    Mailer,
    ObjectStorage,
    PasswordHasher,
    RateLimiter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from afisha_core.settings import Settings
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)
from afisha_sqlite import SqliteDatabase
from afisha_starlette import Runtime, create_app
from afisha_starlette.runtime import Check
from tests.support.http import Account, UserActions
from tests.support.world import CODE, PASSWORD, START, newest_match, wire

__all__ = [
    "PASSWORD",
    "Account",
    "SlowCommits",
    "Stack",
    "open_sqlite_stack",
    "postgres_snapshot",
    "sqlite_snapshot",
    "sqlite_text_cells",
]

BASE_URL = "http://testserver"
_RECOVERY = re.compile(r"/password-recovery/([A-Za-z0-9_-]+)")


@attrs.define
class Stack(UserActions):
    """The core on ``uow`` and ``hasher`` with in-memory fakes for everything else.

    What a user does over HTTP (register, log in, publish) comes from
    :class:`~tests.support.http.UserActions`, as for the HTTP suite's ``Api``.
    """

    uow: UnitOfWorkFactory
    hasher: PasswordHasher = attrs.field(factory=FastPasswordHasher)
    settings: Settings = attrs.field(factory=Settings)
    clock: FakeClock = attrs.field(factory=lambda: FakeClock(START))
    #: The mailer; the mail helpers below need the default, a :class:`RecordingMailer`.
    mailer: Mailer = attrs.field(factory=RecordingMailer)
    storage: ObjectStorage = attrs.field(factory=InMemoryObjectStorage)
    tokens: RecordingTokenGenerator = attrs.field(factory=RecordingTokenGenerator)
    #: The rate limiter to use; by default an in-process one on the fake clock.
    rate_limiter: RateLimiter | None = None
    #: Readiness checks for ``/readyz``.
    checks: dict[str, Check] = attrs.field(factory=dict)
    limiter: RateLimiter = attrs.field(init=False)
    afisha: Afisha = attrs.field(init=False)
    http: httpx.AsyncClient | None = attrs.field(default=None, init=False)
    #: Every response body the client has seen, for scans after a flow.
    bodies: list[bytes] = attrs.field(factory=list, init=False)
    _counter: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        self.limiter = self.rate_limiter or InMemoryRateLimiter(self.clock)
        self.afisha = wire(self.uow, self)

    # --- the hooks of UserActions ----------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        return self.client

    async def _mailed_code(self, email: str) -> str:
        return await self.code_for(email)

    def _new_identity(self) -> tuple[str, str]:
        return self.fresh_identity()

    async def _new_admin(self, *, is_system: bool) -> User:
        return await self.admin_user(is_system=is_system)

    def _now(self) -> datetime:
        return self.clock.now()

    # --- HTTP ----------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client on the app (inside :meth:`serve` only)."""
        if self.http is None:
            raise RuntimeError("use the client inside 'async with stack.serve()'")
        return self.http

    def app(self) -> Starlette:
        """A new ASGI app on this stack's core."""
        return create_app(Runtime(afisha=self.afisha, checks=self.checks))

    @asynccontextmanager
    async def from_address(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """Another client on the same core, connecting from ``address``."""
        transport = httpx.ASGITransport(
            app=self.app(), raise_app_exceptions=False, client=(address, 40000)
        )
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[httpx.AsyncClient]:
        """An httpx client on ``create_app`` over this stack; every body is recorded."""
        app = self.app()

        async def record(response: httpx.Response) -> None:
            self.bodies.append(await response.aread())

        # A 500 comes back as a response instead of escaping into the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, event_hooks={"response": [record]}
        ) as client:
            self.http = client
            try:
                yield client
            finally:
                self.http = None

    # --- mail ----------------------------------------------------------------------

    @property
    def sent(self) -> list[Email]:
        """Every email the recording mailer has sent so far."""
        if not isinstance(self.mailer, RecordingMailer):
            raise TypeError("this stack sends real mail; read it from the server")
        return self.mailer.sent

    async def deliver(self) -> list[Email]:
        """Run one mail-delivery tick; return what the mailer received in it."""
        before = len(self.sent)
        await self.afisha.mail.deliver_due()
        return self.sent[before:]

    async def code_for(self, email: str) -> str:
        """Deliver pending mail and read the newest verification code sent to ``email``."""
        await self.deliver()
        return newest_match(self.sent, email, CODE, "verification code")

    async def recovery_token_for(self, email: str) -> str:
        """Deliver pending mail and read the newest recovery token mailed to ``email``."""
        await self.deliver()
        return newest_match(self.sent, email, _RECOVERY, "recovery link")

    # --- accounts ------------------------------------------------------------------

    def fresh_identity(self) -> tuple[str, str]:
        """A new unique (email, username)."""
        self._counter += 1
        tag = uuid.uuid4().hex[:6]
        return f"person{self._counter}.{tag}@example.org", f"person{self._counter}_{tag}"

    async def relogin(self, client: Account) -> Account:
        """A new session for ``client`` (the old token keeps working)."""
        return await self.login_account(client)

    async def admin_user(self, *, is_system: bool = False) -> User:
        """A new administrator, made through the core (the API has no way to)."""
        email, username = self.fresh_identity()
        return await self.afisha.accounts.create_administrator(
            email, username, PASSWORD, is_system=is_system
        )


@asynccontextmanager
async def open_sqlite_stack(
    path: Path, *, slow_commits: float = 0.0, **options: Any
) -> AsyncIterator[Stack]:
    """A :class:`Stack` on a migrated SQLite file at ``path``, serving HTTP.

    ``slow_commits`` adds that many seconds to every commit (see :class:`SlowCommits`).
    """
    db = SqliteDatabase(path)
    await db.open()
    try:
        await db.migrate()
        uow: UnitOfWorkFactory = SlowCommits(db, slow_commits) if slow_commits else db
        stack = Stack(uow=uow, **options)
        async with stack.serve():
            yield stack
    finally:
        await db.close()


def sqlite_text_cells(path: Path) -> Iterator[tuple[str, str, str]]:
    """Every text value stored in the SQLite file: ``(table, column, value)``.

    Read with a separate read-only connection, so it sees what was committed.
    """
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                query = f'SELECT "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\''  # noqa: S608 - names from the schema itself
                for (value,) in conn.execute(query):
                    yield table, column, value


def sqlite_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the SQLite file, sorted: equal snapshots, equal data."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: sorted(
                conn.execute(f'SELECT * FROM "{table}"').fetchall(),  # noqa: S608 - names from the schema
                key=repr,
            )
            for table in tables
        }


class SlowCommits:
    """A unit-of-work factory whose commits take ``delay`` seconds longer.

    It stands for a database under load (or with synchronous replication), where a
    commit costs tens of milliseconds: a code path that commits where another does not
    then shows in the response time as plainly as it would in production.
    """

    def __init__(self, inner: UnitOfWorkFactory, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        return cast(UnitOfWork, _SlowUnitOfWork(self.inner(read_only=read_only), self.delay))


class _SlowUnitOfWork:
    """Forwards every repository and ``rollback``; sleeps before each commit."""

    def __init__(self, inner: UnitOfWork, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._inner.__aexit__(*exc_info)

    async def commit(self) -> None:
        await asyncio.sleep(self._delay)
        await self._inner.commit()


async def postgres_snapshot(url: str, schema: str) -> dict[str, list[str]]:
    """Every row of every table of the PostgreSQL schema, as sorted text."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        tables = await (
            await conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                (schema,),
            )
        ).fetchall()
        snapshot: dict[str, list[str]] = {}
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            rows = await (await conn.execute(query)).fetchall()
            snapshot[table] = sorted(row[0] for row in rows)
        return snapshot
