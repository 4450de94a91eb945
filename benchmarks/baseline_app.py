"""The baseline: a bare Starlette app answering the benchmarked endpoints by hand.

No core, no ports, no attrs or cattrs, no middleware: a psycopg-pool
``AsyncConnectionPool`` of the same size as the server's, the same queries an
experienced developer would write against the same schema (the same keyset order,
the same filters, the same live counts), and the same JSON as ``afisha serve``
(``tests/benchmarks`` checks that the bodies are equal). It is what the server is
compared with: ``afisha / baseline`` is the price of the library's structure.

What it leaves out, on purpose: rate limiting (Redis), the ``X-Request-ID`` middleware
and access log, touching ``last_seen_at``, and every endpoint not benchmarked.

Run: ``python -m benchmarks.baseline_app --port 8081 [--workers N]`` with
``BENCH_DATABASE_URL`` (and ``BENCH_POOL_SIZE``, default 10, per worker process). uvicorn
is told to use uvloop and httptools when they are installed, asyncio and h11 otherwise,
and the choice is logged at startup. With ``--workers`` above 1, uvicorn's supervisor
starts that many processes on one socket, each building the app with
:func:`create_app_from_env`. Two switches try the fixes that docs/performance.md
proposes: with ``BENCH_SPAN_BOUND=1`` the listing also bounds
``starts_at`` from below by the longest event's duration (it needs an index on
``(ends_at - starts_at)`` to be fast); with ``BENCH_HASH_THREADS=N`` password checks
run on N threads of their own rather than on the loop's default executor.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import importlib.util
import json
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString

import argon2
import psycopg
import psycopg_pool
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["create_app", "create_app_from_env", "main", "server_stack"]

_EVENT_COLUMNS: LiteralString = (
    "e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at, e.timezone,"
    " e.location, e.payment_info, e.max_participants_count, e.image_key, e.created_at,"
    " e.updated_at, e.rejected_at, e.rejection_reason,"
    " (SELECT count(*) FROM participations p"
    "   WHERE p.event_id = e.id AND p.status = 'PARTICIPATING'),"
    " (SELECT count(*) FROM participations p"
    "   WHERE p.event_id = e.id AND p.status = 'WAITLISTED'),"
    " (SELECT p.status FROM participations p"
    "   WHERE p.event_id = e.id AND p.user_id = %(viewer)s)"
)
# Queries are put together from constant fragments only (psycopg's LiteralString typing).
_LIST: LiteralString = (
    "SELECT "  # noqa: S608 - constant fragments only
    + _EVENT_COLUMNS
    + " FROM events e"
    " WHERE e.ends_at > %(now)s AND e.rejected_at IS NULL"
)
_SPAN_BOUND: LiteralString = (
    " AND e.starts_at > %(now)s - (SELECT max(ends_at - starts_at) FROM events)"
)
_AFTER: LiteralString = " AND (e.starts_at, e.id) > (%(after_at)s, %(after_id)s)"
_ORDER: LiteralString = " ORDER BY e.starts_at, e.id LIMIT %(limit)s"
_ONE: LiteralString = (
    "SELECT "  # noqa: S608 - constant fragments only
    + _EVENT_COLUMNS
    + " FROM events e WHERE e.id = %(id)s"
)
_AUTH: LiteralString = (
    "SELECT s.uid, u.id FROM login_sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now()"
    " AND u.deleted_at IS NULL"
)

_hasher = argon2.PasswordHasher(  # the server's parameters: argon2id, 19 MiB, t=2, p=1
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16
)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _event_json(row: tuple[Any, ...]) -> dict[str, Any]:
    capacity = row[9]
    participants = row[15]
    return {
        "id": str(row[0]),
        "name": row[1],
        "short_description": row[2],
        "description": row[3],
        "starts_at": _iso(row[4]),
        "ends_at": _iso(row[5]),
        "timezone": row[6],
        "image_url": None if row[10] is None else f"/media/{row[10]}",
        "payment_info": row[8],
        "max_participants_count": capacity,
        "location": row[7],
        "created_at": _iso(row[11]),
        "updated_at": _iso(row[12]),
        "rejected_at": _iso(row[13]),
        "rejection_reason": row[14],
        "participants_count": participants,
        "waitlist_count": row[16],
        "spots_left": None if capacity is None else max(capacity - participants, 0),
        "my_status": row[17],
    }


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": code, "status": status, "detail": detail, "code": code}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _cursor(starts_at: datetime, event_id: uuid.UUID) -> str:
    payload = json.dumps([_iso(starts_at), event_id.hex], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def _after(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except (binascii.Error, ValueError, TypeError):
        return None


def _token_hash(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _pool(request: Request) -> psycopg_pool.AsyncConnectionPool[Any]:
    pool: psycopg_pool.AsyncConnectionPool[Any] = request.app.state.pool
    return pool


async def _viewer(conn: psycopg.AsyncConnection[Any], request: Request) -> uuid.UUID | None:
    """The caller's user id; ``None`` when anonymous. Raises ``LookupError`` for a bad token."""
    if "authorization" not in request.headers:
        return None
    token_hash = _token_hash(request)
    if token_hash is None:
        raise LookupError
    row = await (await conn.execute(_AUTH, (token_hash,))).fetchone()
    if row is None:
        raise LookupError
    user_id: uuid.UUID = row[1]
    return user_id


def _unauthorized() -> JSONResponse:
    response = _problem(401, "not_authenticated", "A valid bearer token is required.")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def healthz(_request: Request) -> Response:
    """Liveness."""
    return JSONResponse({"status": "ok", "checks": {}})


async def list_events(request: Request) -> Response:
    """``GET /v1/events``: the first or a later page of upcoming events."""
    raw_limit = request.query_params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return _problem(422, "validation_error", "limit must be an integer from 1 to 100")
    limit = int(raw_limit)
    cursor = request.query_params.get("cursor")
    after = _after(cursor) if cursor else None
    if cursor and after is None:
        return _problem(422, "validation_error", "cursor is not a valid cursor")
    query = _LIST + (_SPAN_BOUND if request.app.state.span_bound else "")
    params: dict[str, Any] = {"now": datetime.now(UTC), "limit": limit + 1}
    if after is not None:
        query += _AFTER
        params["after_at"], params["after_id"] = after
    async with _pool(request).connection() as conn:
        try:
            params["viewer"] = await _viewer(conn, request)
        except LookupError:
            return _unauthorized()
        rows = await (await conn.execute(query + _ORDER, params)).fetchall()
    items = [_event_json(r) for r in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = _cursor(last[4], last[0]) if last is not None else None
    return JSONResponse({"items": items, "next_cursor": next_cursor})


async def get_event(request: Request) -> Response:
    """``GET /v1/events/{id}`` with the caller's ``my_status``."""
    try:
        event_id = uuid.UUID(request.path_params["event_id"])
    except ValueError:
        return _problem(404, "not_found", "Not found.")
    async with _pool(request).connection() as conn:
        try:
            viewer = await _viewer(conn, request)
        except LookupError:
            return _unauthorized()
        row = await (await conn.execute(_ONE, {"id": event_id, "viewer": viewer})).fetchone()
    if row is None or (row[13] is not None and row[17] is None):
        return _problem(404, "not_found", "Not found.")
    return JSONResponse(_event_json(row))


async def join_event(request: Request) -> Response:
    """``PUT /v1/events/{id}/participation``: take a spot; the event row lock orders racers."""
    try:
        event_id = uuid.UUID(request.path_params["event_id"])
    except ValueError:
        return _problem(404, "not_found", "Not found.")
    now = datetime.now(UTC)
    async with _pool(request).connection() as conn:
        try:
            viewer = await _viewer(conn, request)
        except LookupError:
            viewer = None
        if viewer is None:
            return _unauthorized()
        async with conn.transaction():
            event = await (
                await conn.execute(
                    "SELECT max_participants_count, rejected_at, ends_at FROM events"
                    " WHERE id = %s FOR UPDATE",
                    (event_id,),
                )
            ).fetchone()
            if event is None:
                return _problem(404, "not_found", "Not found.")
            current = await (
                await conn.execute(
                    "SELECT status FROM participations WHERE event_id = %s AND user_id = %s",
                    (event_id, viewer),
                )
            ).fetchone()
            if current is None or current[0] != "PARTICIPATING":
                if event[1] is not None:
                    return _problem(409, "event_rejected", "The event was cancelled.")
                if event[2] <= now:
                    return _problem(409, "event_finished", "The event has ended.")
                taken = await (
                    await conn.execute(
                        "SELECT count(*) FROM participations"
                        " WHERE event_id = %s AND status = 'PARTICIPATING'",
                        (event_id,),
                    )
                ).fetchone()
                if event[0] is not None and taken is not None and taken[0] >= event[0]:
                    return _problem(409, "event_full", "The event is full.")
                await conn.execute(
                    "INSERT INTO participations (event_id, user_id, status, created_at,"
                    " status_changed_at) VALUES (%s, %s, 'PARTICIPATING', %s, %s)"
                    " ON CONFLICT (event_id, user_id) DO UPDATE SET status = 'PARTICIPATING',"
                    " status_changed_at = EXCLUDED.status_changed_at",
                    (event_id, viewer, now, now),
                )
            row = await (await conn.execute(_ONE, {"id": event_id, "viewer": viewer})).fetchone()
    if row is None:  # pragma: no cover - the row is locked
        return _problem(404, "not_found", "Not found.")
    return JSONResponse(_event_json(row))


async def login(request: Request) -> Response:
    """``POST /v1/sessions``: argon2id verification in a worker thread, then a new session."""
    try:
        body = json.loads(await request.body())
        name, password = str(body["login"]).strip().lower(), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return _problem(400, "bad_request", "The request body is malformed.")
    column: LiteralString = "email" if "@" in name else "username"
    query: LiteralString = (
        "SELECT id, password_hash, email, username, full_name, role, is_system,"  # noqa: S608 - a constant column name
        " created_at FROM users WHERE " + column + " = %s AND deleted_at IS NULL"
    )
    async with _pool(request).connection() as conn:
        user = await (await conn.execute(query, (name,))).fetchone()
    try:
        valid = user is not None and await asyncio.get_running_loop().run_in_executor(
            request.app.state.hashing, _hasher.verify, user[1], password
        )
    except argon2.exceptions.VerificationError:
        valid = False
    if user is None or not valid:
        return _problem(401, "invalid_credentials", "Wrong login or password.")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    uid = uuid.uuid4()
    agent = request.headers.get("user-agent", "")[:512]
    expires = now + timedelta(days=30)
    async with _pool(request).connection() as conn:
        await conn.execute(
            "INSERT INTO login_sessions (uid, user_id, token_hash, user_agent, client_address,"
            " created_at, last_seen_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                uid,
                user[0],
                hashlib.sha256(token.encode()).hexdigest(),
                agent,
                request.client.host if request.client else None,
                now,
                now,
                expires,
            ),
        )
    session = {
        "uid": str(uid),
        "user_agent": agent,
        "created_at": _iso(now),
        "last_seen_at": _iso(now),
        "expires_at": _iso(expires),
        "current": True,
    }
    account = {
        "id": str(user[0]),
        "email": user[2],
        "username": user[3],
        "full_name": user[4],
        "role": user[5],
        "is_system": user[6],
        "created_at": _iso(user[7]),
    }
    return JSONResponse({"token": token, "session": session, "user": account}, status_code=201)


def create_app(
    database_url: str, *, pool_size: int = 10, span_bound: bool = False, hash_threads: int = 0
) -> Starlette:
    """The baseline app on the database at ``database_url``.

    ``hash_threads`` > 0 verifies passwords on a pool of that many threads of its own
    instead of the event loop's default executor (the fix proposed for (f)).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"options": "-c timezone=UTC"},
        )
        await pool.open(wait=True)
        app.state.pool = pool
        app.state.hashing = ThreadPoolExecutor(hash_threads) if hash_threads else None
        try:
            yield
        finally:
            await pool.close()
            if app.state.hashing is not None:
                app.state.hashing.shutdown()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/events", list_events, methods=["GET"]),
            Route("/v1/events/{event_id}", get_event, methods=["GET"]),
            Route("/v1/events/{event_id}/participation", join_event, methods=["PUT"]),
            Route("/v1/sessions", login, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.span_bound = span_bound
    return app


def create_app_from_env(env: Mapping[str, str] = os.environ) -> Starlette:
    """The baseline app configured by ``BENCH_*`` variables (uvicorn's factory for workers)."""
    return create_app(
        env["BENCH_DATABASE_URL"],
        pool_size=int(env.get("BENCH_POOL_SIZE", "10")),
        span_bound=env.get("BENCH_SPAN_BOUND", "") == "1",
        hash_threads=int(env.get("BENCH_HASH_THREADS", "0") or "0"),
    )


def server_stack() -> tuple[str, str]:
    """The event loop and HTTP parser to serve with: uvloop and httptools when installed."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def main(argv: list[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    """Serve the baseline with uvicorn, configured like ``afisha serve``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baseline_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--workers", type=int, default=1, help="processes on one socket (1)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if "BENCH_DATABASE_URL" not in env:
        parser.error("set BENCH_DATABASE_URL")
    os.environ.update(env)  # the worker processes read their settings from here
    loop, http = server_stack()
    print(
        f"baseline: {args.workers} worker(s), loop {loop}, http {http}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "benchmarks.baseline_app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=loop,
        http=http,
        log_level="warning",
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
