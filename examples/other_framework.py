"""The core inside a Flask app: a synchronous web framework driving the async core.

Flask views are plain functions, run on the WSGI server's threads; the core is async.
The bridge is one event loop in a background thread for the whole process
(:class:`LoopThread`): the adapters are opened on it, and each view hands it a use case
with ``asyncio.run_coroutine_threadsafe`` and waits for the answer. The same pattern
fits Django, Pyramid, Bottle or a desktop app. (In an async framework such as FastAPI,
aiohttp or Litestar, await the use cases directly instead.)

The adapters are the embedded defaults of ``afisha serve``: SQLite, argon2, local files
and ``.eml`` mails, under a data folder (a temporary one for the demo,
``afisha-data/flask-example`` with ``--serve``). A domain error becomes a JSON answer with the
error's ``code`` and HTTP ``status``.

    pip install "afisha-server[argon2,smtp,s3]" flask
    python examples/other_framework.py            # a demo: starts, calls itself, stops
    python examples/other_framework.py --serve    # http://127.0.0.1:5000 until Ctrl-C
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.app import Afisha
from afisha_core.clock import SystemClock
from afisha_core.domain import EventView, User
from afisha_core.errors import AfishaError
from afisha_core.limiter import InProcessRateLimiter
from afisha_core.usecases import EventDraft
from afisha_obstore import ObstoreStorage
from afisha_smtp import EmlFileMailer
from afisha_sqlite import SqliteDatabase

T = TypeVar("T")
ADMIN_PASSWORD = "flask-demo-passphrase"  # noqa: S105 - a demo account, made below


class LoopThread:
    """An asyncio event loop running in a daemon thread: where the core and adapters live."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="afisha", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and return its result (or raise its error)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        """Stop the loop and wait for its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


async def build_afisha(data: Path, stack: AsyncExitStack) -> Afisha:
    """The composition root: every adapter opened under ``data``, and the core on top."""
    database = SqliteDatabase(data / "afisha.db")
    await database.open()
    stack.push_async_callback(database.close)
    await database.migrate()
    clock = SystemClock()
    return Afisha(
        uow=database,
        hasher=Argon2PasswordHasher(),
        clock=clock,
        limiter=InProcessRateLimiter(clock),  # one process: no Redis needed
        storage=ObstoreStorage.local(data / "media"),
        mailer=EmlFileMailer(data / "outbox"),
    )


def event_json(view: EventView) -> dict[str, Any]:
    """The few fields of an event this app shows."""
    return {
        "id": str(view.event.id),
        "name": view.event.name,
        "starts_at": view.event.starts_at.isoformat(),
        "spots_left": view.spots_left,
        "my_status": view.my_status.value if view.my_status else None,
    }


def create_app(afisha: Afisha, loop: LoopThread) -> Flask:
    """A Flask app with three routes over the core, whose use cases run on ``loop``."""
    app = Flask(__name__)
    run = loop.run

    @app.errorhandler(AfishaError)
    def domain_error(error: AfishaError) -> tuple[Response, int]:
        return jsonify(code=error.code, detail=error.detail), error.status

    def caller() -> User:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return run(afisha.sessions.authenticate(token)).user

    @app.post("/login")
    def login() -> tuple[Response, int]:
        body = request.get_json(force=True)
        result = run(
            afisha.sessions.login(
                str(body.get("login", "")),
                str(body.get("password", "")),
                user_agent=request.user_agent.string,
                client_address=request.remote_addr,
            )
        )
        return jsonify(token=result.token, username=result.user.username), 201

    @app.get("/events")
    def events() -> Response:
        page = run(afisha.events.list_events(None))
        return jsonify(items=[event_json(view) for view in page.items])

    @app.put("/events/<uuid:event_id>/participation")
    def join(event_id: UUID) -> Response:
        return jsonify(event_json(run(afisha.participation.join(caller(), event_id))))

    return app


async def seed(afisha: Afisha) -> None:
    """An administrator and one event with two spots, unless they exist already."""
    admin = await afisha.accounts.create_administrator(
        "admin@example.org", "admin", ADMIN_PASSWORD, is_system=True
    )
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    draft = EventDraft(
        name="Flask meetup",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        max_participants_count=2,
    )
    await afisha.events.create(admin, draft)


def call(method: str, url: str, body: object = None, token: str = "") -> tuple[int, Any]:
    """One HTTP request with the standard library; the status and the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # S310: the URL is always this demo's own http://127.0.0.1 address.
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def demo(base: str) -> None:
    """Use the running app the way a client would, printing what happens."""
    status, answer = call("POST", f"{base}/login", {"login": "admin", "password": "wrong!!!"})
    print(f"POST /login with a wrong password -> {status} {answer['code']}")
    status, answer = call("POST", f"{base}/login", {"login": "admin", "password": ADMIN_PASSWORD})
    token = answer["token"]
    print(f"POST /login -> {status}, logged in as {answer['username']}")
    status, answer = call("GET", f"{base}/events")
    event = answer["items"][0]
    print(f"GET /events -> {status}: {event['name']!r}, spots left {event['spots_left']}")
    url = f"{base}/events/{event['id']}/participation"
    status, answer = call("PUT", url, token=token)
    spots = answer["spots_left"]
    print(f"PUT participation -> {status}: {answer['my_status']}, spots left {spots}")
    status, answer = call("PUT", url, token=token)
    print(f"PUT participation again -> {status}: {answer['my_status']} (idempotent)")
    status, answer = call("PUT", url)
    print(f"PUT participation without a token -> {status} {answer['code']}")
    status, answer = call("PUT", f"{base}/events/{uuid4()}/participation", token=token)
    print(f"PUT participation of an unknown event -> {status} {answer['code']}")


def main() -> None:
    """Run the demo, or serve until interrupted (``--serve``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:5000")
    args = parser.parse_args()
    loop = LoopThread()
    stack = AsyncExitStack()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path("afisha-data/flask-example") if args.serve else Path(scratch)
        data.mkdir(parents=True, exist_ok=True)
        try:
            afisha = loop.run(build_afisha(data, stack))
            if not loop.run(afisha.events.list_events(None)).items:
                loop.run(seed(afisha))
            app = create_app(afisha, loop)
            server = make_server("127.0.0.1", 5000 if args.serve else 0, app, threaded=True)
            if args.serve:
                print("serving on http://127.0.0.1:5000 (admin / flask-demo-passphrase)")
                server.serve_forever()
            else:
                logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log
                threading.Thread(target=server.serve_forever, daemon=True).start()
                demo(f"http://127.0.0.1:{server.server_port}")
                server.shutdown()
        except KeyboardInterrupt:
            pass
        finally:
            loop.run(stack.aclose())
            loop.stop()


if __name__ == "__main__":
    main()
