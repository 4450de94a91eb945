"""Afisha inside a FastAPI app: the core in the host's lifespan, the bundled API mounted.

A host application with its own ``users`` table (in its own database file) gets:

- the Afisha core wired once, its store opened and closed by the host's lifespan;
- ``current_principal``, a dependency that authenticates Afisha session tokens, for the
  host's own routes (``GET /me``, ``GET /my-events``);
- Afisha's errors answered as RFC 9457 problem documents by the host;
- the safe public views of :mod:`afisha_core.public` as response models (no hash, no
  token ever leaves);
- the whole bundled HTTP API mounted at ``/afisha``: ``/afisha/v1/...``, its docs page
  at ``/afisha/docs``; links in emails and picture URLs carry ``/afisha`` because the
  public URL given to the core does.

Afisha's own tables live in ``afisha.db`` (SQLite); with PostgreSQL, give
``PostgresDatabase(url, schema="afisha")`` and they live in the schema ``afisha``, apart
from the host's tables. ::

    pip install "afisha-server[http,argon2,smtp,s3]" fastapi uvicorn
    python examples/fastapi_app.py            # a demo: starts, calls itself, stops
    python examples/fastapi_app.py --serve    # http://127.0.0.1:8000 until Ctrl-C
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of the routes
# and dependencies below at run time, and some of them are local names.
import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.app import Afisha
from afisha_core.clock import SystemClock
from afisha_core.errors import AfishaError, NotAuthenticated
from afisha_core.limiter import InProcessRateLimiter
from afisha_core.public import PublicEvent, PublicUser, public
from afisha_core.settings import Settings
from afisha_core.usecases import Principal
from afisha_obstore import ObstoreStorage
from afisha_smtp import EmlFileMailer
from afisha_sqlite import SqliteDatabase
from afisha_starlette import Runtime, create_app

PREFIX = "/afisha"


def create_host_app(data: Path, public_url: str = "http://127.0.0.1:8000") -> FastAPI:
    """The host application, with Afisha's data under ``data`` and its API at ``/afisha``."""
    afisha_url = public_url.rstrip("/") + PREFIX
    database = SqliteDatabase(data / "afisha.db")
    clock = SystemClock()
    afisha = Afisha(
        uow=database,
        hasher=Argon2PasswordHasher(),
        clock=clock,
        limiter=InProcessRateLimiter(clock),  # one process: no Redis needed
        storage=ObstoreStorage.local(data / "media", base_url=afisha_url + "/media"),
        mailer=EmlFileMailer(data / "outbox"),
        settings=Settings(public_url=afisha_url),  # links in emails carry /afisha
    )
    host_db = data / "host.db"

    wake = asyncio.Event()  # set after each write through the bundled API: mail goes out now

    async def periodic_work() -> None:
        """Mail delivery and reminders (a host with a scheduler runs these as jobs)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=5)
            wake.clear()
            await afisha.mail.deliver_due()
            await afisha.reminders.send_due()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await database.open()
        await database.migrate()
        with sqlite3.connect(host_db) as conn:  # the host's own table named "users"
            conn.execute(
                "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, nickname TEXT NOT NULL)"
            )
        worker = asyncio.create_task(periodic_work())
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await database.close()

    app = FastAPI(title="A host app", lifespan=lifespan)
    # The bundled API, beside the host's routes. Its runtime exists before start-up (the
    # adapters are built, not yet opened), so the mounted app needs no lifespan of its own.
    runtime = Runtime(afisha=afisha, serve_media=True, wake_mail=wake.set)
    app.mount(PREFIX, create_app(runtime, public_url=afisha_url))
    app.state.afisha = afisha
    add_host_routes(app, afisha, host_db)
    return app


def add_host_routes(app: FastAPI, afisha: Afisha, host_db: Path) -> None:
    """The host's own routes, its error handler and the Afisha-session dependency."""

    @app.exception_handler(AfishaError)
    async def problem(_request: Request, error: AfishaError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        body = {
            "type": f"urn:afisha:problem:{error.code}",
            "title": error.code.replace("_", " "),
            "status": error.status,
            "detail": error.detail,
            "code": error.code,
        }
        return JSONResponse(
            body, status_code=error.status, media_type="application/problem+json", headers=headers
        )

    async def current_principal(
        authorization: Annotated[str, Header()] = "",
    ) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated
        return await afisha.sessions.authenticate(token.strip())

    caller = Annotated[Principal, Depends(current_principal)]

    @app.get("/me")
    async def me(principal: caller) -> PublicUser:
        """The caller's Afisha account: a dataclass, serialised by FastAPI as it is."""
        return public(principal.user)

    @app.get("/my-events")
    async def my_events(principal: caller) -> list[PublicEvent]:
        page = await afisha.events.list_my_events(principal.user)
        return [public(view) for view in page.items]

    @app.post("/host-users")
    async def add_host_user(body: dict[str, str]) -> dict[str, str]:
        """The host's own users, in the host's own ``users`` table."""
        row = {"id": str(uuid.uuid4()), "nickname": body.get("nickname", "")}
        with sqlite3.connect(host_db) as conn:
            conn.execute("INSERT INTO users (id, nickname) VALUES (:id, :nickname)", row)
        return row

    @app.get("/host-users")
    async def host_users() -> list[dict[str, Any]]:
        with sqlite3.connect(host_db) as conn:
            rows = conn.execute("SELECT id, nickname FROM users ORDER BY nickname").fetchall()
        return [{"id": id_, "nickname": nickname} for id_, nickname in rows]


async def demo() -> None:
    """Start the app in-process, go through it once as a client would, and stop."""
    import httpx  # noqa: PLC0415 - only for the demo

    with tempfile.TemporaryDirectory() as scratch:
        app = create_host_app(Path(scratch))
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client,
        ):
            print("docs:", (await client.get(f"{PREFIX}/docs")).status_code)
            spec = (await client.get(f"{PREFIX}/openapi.json")).json()
            print("openapi servers:", spec["servers"][0]["url"])
            print("events:", (await client.get(f"{PREFIX}/v1/events")).json()["items"])
            added = await client.post("/host-users", json={"nickname": "ann"})
            print("host users:", added.json()["nickname"])
            print("me without a token:", (await client.get("/me")).status_code)


def main() -> None:
    """Run the demo, or serve with uvicorn (``--serve``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        import uvicorn  # noqa: PLC0415 - only to serve

        data = Path("afisha-data/fastapi-example")
        data.mkdir(parents=True, exist_ok=True)
        uvicorn.run(create_host_app(data), host="127.0.0.1", port=8000)
    else:
        asyncio.run(demo())


if __name__ == "__main__":
    main()
