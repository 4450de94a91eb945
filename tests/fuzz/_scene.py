"""The state the schema fuzzer runs against, and the app it calls.

The fuzzer is stateless: left alone it would send random UUIDs and be answered 404,
and a fuzzed ``DELETE /v1/sessions/current`` or ``POST /v1/users/me/password`` would
end the one session every later request relies on. So:

- :func:`seed_scene` makes one of everything an id can point at (the caller's own
  objects and other people's), and the test swaps some generated path parameters for
  those real ids;
- :class:`RoleMiddleware` wraps the app: a request carrying ``X-Fuzz-Role: user`` (or
  ``admin``) gets a brand-new session token of that account, minted in the app's own
  event loop, in place of whatever ``Authorization`` the fuzzer made up.

The database is real (a SQLite file, or a fresh PostgreSQL schema), so what reaches
the store is real SQL with its integer and text limits. It is opened, migrated and
seeded in the app's lifespan, which schemathesis's ASGI transport runs on its own
event loop the first time a test calls the app.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import attrs
import psycopg
from psycopg import sql
from schemathesis.python import asgi
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from afisha_core.domain import User
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.usecases import EventDraft
from afisha_core.usecases.sessions import open_session
from afisha_postgres import PostgresDatabase
from afisha_sqlite import SqliteDatabase
from afisha_starlette import Runtime, create_app
from tests.security._stack import PASSWORD, Stack
from tests.support.services import require_postgres

__all__ = [
    "ROLES",
    "ROLE_HEADER",
    "FuzzScene",
    "RoleMiddleware",
    "fuzz_app",
    "openapi_of",
    "seed_scene",
]

#: Who the fuzzer calls as: nobody, a plain user, a (system) administrator.
ROLES = ("anonymous", "user", "admin")
#: The request header that asks :class:`RoleMiddleware` for a fresh token.
ROLE_HEADER = "X-Fuzz-Role"

Closer = Callable[[], Awaitable[None]]


@attrs.define
class FuzzScene:
    """The seeded stack and, for each path parameter name, real values to try."""

    stack: Stack
    admin: User
    user: User
    ids: dict[str, list[str]]

    async def token_for(self, role: str) -> str:
        """A new session token of the user or the admin.

        A user deleted by an earlier fuzzed request is replaced by a new one, so the
        "user" role always has a live account.
        """
        if role == "user":
            async with self.stack.uow() as uow:
                current = await uow.users.get(self.user.id)
            if current is None or current.is_deleted:
                self.user = await register(self.stack)
                self.ids["user_id"].append(str(self.user.id))
        account = self.user if role == "user" else self.admin
        async with self.stack.uow() as uow:
            result = await open_session(
                uow,
                self.stack.tokens,
                self.stack.settings,
                account,
                now=self.stack.clock.now(),
                user_agent="fuzz",
                client_address=None,
            )
            await uow.commit()
        return result.token


async def register(stack: Stack) -> User:
    """A new confirmed user, through the use cases."""
    email, username = stack.fresh_identity()
    token = await stack.afisha.accounts.register(email, username, "Fuzz Person", PASSWORD)
    code = await stack.code_for(email)
    return (await stack.afisha.accounts.confirm(token, code)).user


async def seed_scene(stack: Stack) -> FuzzScene:
    """Accounts, events in every state, notifications, sessions, pending tokens."""
    afisha = stack.afisha
    admin = await stack.admin_user(is_system=True)
    user, other = await register(stack), await register(stack)
    mine = await afisha.sessions.login(user.username, PASSWORD)
    theirs = await afisha.sessions.login(other.username, PASSWORD)

    async def event(capacity: int | None = None, days: int = 3) -> uuid.UUID:
        starts = stack.clock.now() + timedelta(days=days)
        draft = EventDraft(
            name="Fuzz event",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            max_participants_count=capacity,
        )
        return (await afisha.events.create(admin, draft)).event.id

    events = [await event(3), await event(1), await event(), await event(days=-2)]
    spare = [await event(2) for _ in range(6)]  # for fuzzed cancellations to use up
    open_id, full_id, cancelled_id, _past = events
    await afisha.participation.join(other, full_id)
    await afisha.participation.join(user, full_id, waitlist=True)
    await afisha.participation.join(user, cancelled_id)
    await afisha.participation.join(other, cancelled_id)
    await afisha.events.reject(admin, cancelled_id, "fuzz")
    await afisha.events.set_image(admin, open_id, b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png")
    async with stack.uow() as uow:
        notes = [
            *await uow.notifications.list(user.id, unacked_only=False, before=None, limit=5),
            *await uow.notifications.list(other.id, unacked_only=False, before=None, limit=5),
        ]
    registration = await afisha.accounts.register(
        "pending@example.org", "pending", "Pending Person", PASSWORD
    )
    await afisha.recovery.request(other.email)
    recovery = await stack.recovery_token_for(other.email)
    return FuzzScene(
        stack=stack,
        admin=admin,
        user=user,
        ids={
            "event_id": [str(e) for e in (*events, *spare)],
            "user_id": [str(u.id) for u in (user, other, admin)],
            "notification_id": [str(n.id) for n in notes],
            "uid": [str(mine.session.uid), str(theirs.session.uid)],
            "registration_token": [registration],
            "recovery_token": [recovery],
        },
    )


class RoleMiddleware:
    """Replace ``Authorization`` with a fresh token when ``X-Fuzz-Role`` asks for one."""

    def __init__(self, app: ASGIApp, scene: Callable[[], FuzzScene]) -> None:
        self.app = app
        self.scene = scene

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = ROLE_HEADER.lower().encode()
            headers = list(scope["headers"])
            role = next((v.decode() for k, v in headers if k == name), None)
            if role in ("user", "admin"):
                token = await self.scene().token_for(role)
                headers = [(k, v) for k, v in headers if k not in (name, b"authorization")]
                headers.append((b"authorization", f"Bearer {token}".encode()))
            else:
                headers = [(k, v) for k, v in headers if k != name]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


@attrs.define
class _Holder:
    scene: FuzzScene | None = None

    def get(self) -> FuzzScene:
        if self.scene is None:
            raise RuntimeError("the app's lifespan has not run yet")
        return self.scene


async def _sqlite() -> tuple[UnitOfWorkFactory, Closer]:
    folder = Path(tempfile.mkdtemp(prefix="afisha-fuzz-"))
    db = SqliteDatabase(folder / "fuzz.db")
    await db.open()
    await db.migrate()

    async def close() -> None:
        await db.close()
        shutil.rmtree(folder, ignore_errors=True)

    return db, close


async def _postgres() -> tuple[UnitOfWorkFactory, Closer]:
    url = require_postgres()
    schema = f"fuzz_{uuid.uuid4().hex[:16]}"
    db = PostgresDatabase(url, schema=schema, max_size=4)
    await db.migrate()
    await db.open(wait=True)

    async def close() -> None:
        await db.close()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )

    return db, close


def fuzz_app(backend: str) -> tuple[ASGIApp, Callable[[], FuzzScene]]:
    """The app on a fresh seeded database (made in its lifespan) and the scene getter.

    ``backend`` is ``"sqlite"`` (a temporary file) or ``"postgres"`` (a fresh schema
    on the test server). Nothing is opened until the lifespan runs.
    """
    holder = _Holder()
    open_database = {"sqlite": _sqlite, "postgres": _postgres}[backend]

    async def build() -> Runtime:
        db, close = await open_database()
        stack = Stack(uow=db)
        holder.scene = await seed_scene(stack)
        return Runtime(afisha=stack.afisha, closers=[close])

    app: Starlette = create_app(runtime_factory=build)
    return RoleMiddleware(app, holder.get), holder.get


def openapi_of(app: ASGIApp) -> dict[str, Any]:
    """The document the app serves at ``/openapi.json``, read without running its lifespan."""
    client = asgi.get_client(cast(Any, app))  # its ASGI types are narrower than Starlette's
    response = client.get("/openapi.json")  # outside "with": no lifespan
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document
