"""The HTTP protocol itself: request ids, problem documents, bodies, health, outages, OpenAPI."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import attrs
import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from starlette.routing import Route

from afisha_core.errors import ServiceUnavailable
from afisha_core.ports import RateLimitResult, StoredObject, UnitOfWork
from afisha_core.testing import InMemoryDatabase, InMemoryObjectStorage
from afisha_starlette import Runtime, create_app
from tests.support.http import PASSWORD, Api, assert_problem, open_api
from tests.support.world import World

MIB = 1024 * 1024
EVENT_FIELDS = {
    "id", "name", "short_description", "description", "starts_at", "ends_at", "timezone",
    "image_url", "payment_info", "max_participants_count", "location", "created_at",
    "rejected_at", "participants_count", "waitlist_count", "spots_left", "my_status",
}  # fmt: skip
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(24)


def login_body(size: int) -> bytes:
    """A JSON login body of exactly ``size`` bytes."""
    head = b'{"login": "someone", "password": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


# --- request ids --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/v1/events"),
        ("GET", "/nowhere"),
        ("DELETE", "/healthz"),
        ("GET", "/v1/users/me"),
        ("POST", "/v1/sessions"),
        ("GET", "/openapi.json"),
    ],
)
async def test_every_response_has_a_request_id(api: Api, method: str, path: str) -> None:
    generated = await api.client.request(method, path)
    echoed = await api.client.request(method, path, headers={"X-Request-ID": "req-42.a:b"})

    assert generated.headers.get("x-request-id")
    assert echoed.headers["x-request-id"] == "req-42.a:b"
    other = await api.client.request(method, path)
    assert other.headers["x-request-id"] != generated.headers["x-request-id"]


async def test_request_ids_on_no_content_responses(api: Api) -> None:
    account = await api.register()

    response = await api.client.delete(
        "/v1/sessions/current", headers=account.headers | {"X-Request-ID": "bye-1"}
    )

    assert response.status_code == 204
    assert response.headers["x-request-id"] == "bye-1"


@attrs.define
class BrokenDatabase:
    """A unit-of-work factory with a bug: it raises something no adapter should."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        raise RuntimeError("a bug in an adapter")


async def test_even_an_internal_error_carries_the_request_id(world: World) -> None:
    afisha = attrs.evolve(world.afisha, uow=BrokenDatabase())
    async with open_api(world, Runtime(afisha=afisha)) as api:
        response = await api.client.get("/v1/events", headers={"X-Request-ID": "oops-1"})

    assert_problem(response, 500)
    assert response.headers.get("x-request-id") == "oops-1"


async def test_an_internal_error_is_a_problem_document_without_details(world: World) -> None:
    afisha = attrs.evolve(world.afisha, uow=BrokenDatabase())
    async with open_api(world, Runtime(afisha=afisha)) as api:
        response = await api.client.get("/v1/events")

    body = assert_problem(response, 500)
    assert "a bug in an adapter" not in response.text
    assert "Traceback" not in body["detail"]


# --- problem documents --------------------------------------------------------------


async def test_an_unknown_route_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/nothing-here")

    body = assert_problem(response, 404, "not_found")
    assert body["type"]
    assert body["title"]
    assert body["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/healthz"),
        ("POST", "/v1/users/me/events"),
        ("PUT", "/v1/events"),
        ("GET", "/v1/notifications/ack-all"),
    ],
)
async def test_a_wrong_method_is_a_405_problem(api: Api, method: str, path: str) -> None:
    response = await api.client.request(method, path)

    assert_problem(response, 405)
    assert "allow" in response.headers


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"login": "a", ', b"\xff\xfe\x00", b'{"a": 1} trailing']
)
async def test_malformed_json_is_a_400_problem(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/v1/sessions", content=body, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
async def test_json_that_is_not_an_object_is_a_400_problem(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/v1/sessions", content=body, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400)


async def test_a_missing_body_is_a_400_problem(api: Api) -> None:
    response = await api.client.post("/v1/sessions")

    assert_problem(response, 400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "image/png", None]
)
async def test_a_wrong_content_type_is_a_415_problem(api: Api, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = await api.client.post(
        "/v1/sessions", content=b'{"login": "a", "password": "b"}', headers=headers
    )

    assert_problem(response, 415, "unsupported_media_type")


async def test_json_with_a_charset_is_accepted(api: Api) -> None:
    account = await api.register()

    response = await api.client.post(
        "/v1/sessions",
        content=f'{{"login": "{account.username}", "password": "{PASSWORD}"}}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


async def test_responses_are_json_in_utf8(api: Api) -> None:
    admin = await api.admin()
    await api.create_event(admin, name="Концерт «Весна»")

    response = await api.client.get("/v1/events")

    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["items"][0]["name"] == "Концерт «Весна»"


async def test_json_responses_declare_utf8(api: Api) -> None:
    response = await api.client.get("/v1/events")

    media, _, params = response.headers["content-type"].partition(";")
    assert media.strip() == "application/json"
    assert params.replace(" ", "").lower() == "charset=utf-8"


async def test_a_body_over_one_mebibyte_is_a_413_problem(api: Api) -> None:
    response = await api.client.post(
        "/v1/sessions",
        content=login_body(MIB + 1),
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 413, "payload_too_large")


async def test_a_streamed_body_over_one_mebibyte_is_a_413_problem(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"login": "someone", "password": "'
        for _ in range(20):
            yield b"x" * (64 * 1024)
        yield b'"}'

    response = await api.client.post(
        "/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")


async def test_a_body_of_exactly_one_mebibyte_is_read(api: Api) -> None:
    response = await api.client.post(
        "/v1/sessions", content=login_body(MIB), headers={"Content-Type": "application/json"}
    )

    assert response.status_code != 413
    assert 400 <= response.status_code < 500


# --- health -------------------------------------------------------------------------


async def test_healthz_answers(api: Api) -> None:
    response = await api.client.get("/healthz")

    assert response.status_code == 200


async def test_readyz_is_ready_when_every_check_passes(world: World) -> None:
    async def fine() -> None:
        return None

    runtime = Runtime(afisha=world.afisha, checks={"database": fine, "storage": fine})
    async with open_api(world, runtime) as api:
        response = await api.client.get("/readyz")

    assert response.status_code == 200


async def test_readyz_names_the_failing_check(world: World) -> None:
    async def fine() -> None:
        return None

    async def down() -> None:
        raise ConnectionRefusedError("no database")

    runtime = Runtime(
        afisha=world.afisha,
        checks={"database": down, "storage": fine, "rate_limiter": fine, "mailer": fine},
    )
    async with open_api(world, runtime) as api:
        response = await api.client.get("/readyz")

    assert response.status_code == 503
    assert "database" in response.text
    body: dict[str, Any] = response.json()
    failing = {
        name
        for name in ("database", "storage", "rate_limiter", "mailer")
        if name in str(body.get("detail", ""))
        or str(body.get("checks", {}).get(name, "ok")) != "ok"
    }
    assert failing == {"database"}, body
    assert response.headers.get("retry-after")


# --- backing-service outages --------------------------------------------------------


@attrs.define
class SwitchableDatabase:
    """The in-memory database behind a switch: when down, it cannot be reached."""

    inner: InMemoryDatabase
    down: bool = False

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        if self.down:
            raise ServiceUnavailable("database", "connection refused (test)")
        return self.inner(read_only=read_only)


@attrs.define
class DownRateLimiter:
    """A rate limiter that cannot be reached."""

    async def hit(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        raise ServiceUnavailable("rate_limiter")

    async def peek(self, key: str, *, limit: int, window: timedelta) -> RateLimitResult:
        raise ServiceUnavailable("rate_limiter")

    async def reset(self, key: str) -> None:
        raise ServiceUnavailable("rate_limiter")


@attrs.define
class DownStorage:
    """Object storage that cannot be reached (URLs are still computed locally)."""

    inner: InMemoryObjectStorage

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        raise ServiceUnavailable("storage")

    async def get(self, key: str) -> StoredObject | None:
        raise ServiceUnavailable("storage")

    async def delete(self, key: str) -> None:
        raise ServiceUnavailable("storage")

    def url(self, key: str) -> str:
        return self.inner.url(key)


def assert_unavailable(response: httpx.Response) -> None:
    """503 service_unavailable with a Retry-After, as the HTTP contract asks."""
    assert_problem(response, 503, "service_unavailable")
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit(), response.headers
    assert int(retry_after) >= 1


async def test_a_database_outage_is_503_with_retry_after_and_loses_nothing(world: World) -> None:
    database = SwitchableDatabase(world.db)
    afisha = attrs.evolve(world.afisha, uow=database)
    async with open_api(world, Runtime(afisha=afisha)) as api:
        admin = await api.admin()
        user = await api.register()
        event = await api.create_event(admin)
        database.down = True

        answers = [
            await api.client.get("/v1/events"),
            await api.client.get(f"/v1/events/{event['id']}"),
            await api.client.get("/v1/users/me", headers=user.headers),
            await api.client.put(f"/v1/events/{event['id']}/participation", headers=user.headers),
            await api.login(user.username),
            await api.start_registration("new@example.org", "newcomer"),
            await api.client.post("/v1/password-recovery", json={"email": user.email}),
            await api.client.get(f"/v1/events/{event['id']}/calendar.ics"),
        ]

        for response in answers:
            assert_unavailable(response)
        database.down = False
        assert (await api.client.get("/v1/users/me", headers=user.headers)).status_code == 200
        assert (await api.login(user.username)).status_code == 201
        seen = (await api.client.get(f"/v1/events/{event['id']}", headers=user.headers)).json()
        assert seen["my_status"] is None


async def test_a_rate_limiter_outage_is_503(world: World) -> None:
    async with open_api(world) as setup:
        user = await setup.register()
    afisha = attrs.evolve(world.afisha, limiter=DownRateLimiter())
    async with open_api(world, Runtime(afisha=afisha)) as api:
        login = await api.login(user.username)
        registration = await api.start_registration("other@example.org", "other")

    assert_unavailable(login)
    assert_unavailable(registration)


async def test_a_storage_outage_is_503_and_keeps_the_old_picture(world: World) -> None:
    async with open_api(world) as setup:
        admin = await setup.admin()
        event = await setup.create_event(admin)
        first = await setup.client.put(
            f"/v1/events/{event['id']}/image",
            content=PNG,
            headers=admin.headers | {"Content-Type": "image/png"},
        )
        assert first.status_code == 200
    afisha = attrs.evolve(world.afisha, storage=DownStorage(world.storage))
    async with open_api(world, Runtime(afisha=afisha, serve_media=True)) as api:
        response = await api.client.put(
            f"/v1/events/{event['id']}/image",
            content=PNG,
            headers=admin.headers | {"Content-Type": "image/png"},
        )
        after = (await api.client.get(f"/v1/events/{event['id']}")).json()

    assert_unavailable(response)
    assert after["image_url"] == first.json()["image_url"]


# --- OpenAPI and docs ---------------------------------------------------------------


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _app_operations(app: Any) -> set[tuple[str, str]]:
    operations = set()
    for route in app.routes:
        assert isinstance(route, Route)
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
        for method in route.methods or ():
            if method != "HEAD":
                operations.add((method.lower(), path))
    return operations


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    }


async def test_the_openapi_document_is_valid_openapi_3_1(api: Api) -> None:
    response = await api.client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)
    for ref in _refs(document):
        assert _resolve(document, ref) is not None
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (method, path)


async def test_every_api_route_is_in_the_openapi_document(world: World, api: Api) -> None:
    app = create_app(Runtime(afisha=world.afisha))
    document = (await api.client.get("/openapi.json")).json()

    api_routes = {op for op in _app_operations(app) if op[1].startswith("/v1/")}

    assert len(api_routes) == 42
    assert api_routes <= _documented(document), api_routes - _documented(document)


async def test_every_route_of_the_app_is_in_the_openapi_document(world: World, api: Api) -> None:
    app = create_app(Runtime(afisha=world.afisha))
    document = (await api.client.get("/openapi.json")).json()

    missing = _app_operations(app) - _documented(document)

    assert not missing, sorted(missing)


async def test_the_openapi_event_schema_has_every_event_field(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()

    operation = document["paths"]["/v1/events/{event_id}"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = _resolve(document, schema["$ref"])

    assert set(schema["properties"]) >= EVENT_FIELDS


async def test_docs_page_is_self_contained_html(api: Api) -> None:
    response = await api.client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "/openapi.json" in response.text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", response.text)


async def test_the_docs_page_loads_swagger_ui_from_the_server_itself(api: Api) -> None:
    page = (await api.client.get("/docs")).text
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page)

    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = await api.client.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset
    bundle = await api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    for unknown in ("index.html", "..%2Fdocs_page.py", "swagger-ui.js.map"):
        assert_problem(await api.client.get(f"/docs/assets/{unknown}"), 404, "not_found")


# --- hostile input is a 4xx, never a 500 --------------------------------------------


async def test_a_limit_of_unicode_digits_is_a_422(api: Api) -> None:
    response = await api.client.get("/v1/events", params={"limit": "²"})

    assert_problem(response, 422, "validation_error")


async def raw_post(app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """POST straight through ASGI (for header bytes httpx will not send); return the status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
    }  # fmt: skip
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    # Starlette re-raises an unhandled error after sending its 500: the status is enough.
    with contextlib.suppress(Exception):
        await app(scope, receive, send)
    starts = [m for m in messages if m["type"] == "http.response.start"]
    assert len(starts) == 1, messages
    status: int = starts[0]["status"]
    return status


async def test_a_content_length_of_unicode_digits_is_a_client_error(world: World) -> None:
    app = create_app(Runtime(afisha=world.afisha))

    status = await raw_post(
        app,
        "/v1/sessions",
        [(b"content-type", b"application/json"), (b"content-length", b"\xb2")],
        b'{"login": "a", "password": "b"}',
    )

    assert 400 <= status < 500, status


async def test_raw_asgi_requests_reach_the_app(world: World) -> None:
    app = create_app(Runtime(afisha=world.afisha))

    status = await raw_post(
        app,
        "/v1/sessions",
        [(b"content-type", b"application/json"), (b"content-length", b"31")],
        b'{"login": "a", "password": "b"}',
    )

    assert status == 401


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"login": ' + b"[" * 100_000])
async def test_deeply_nested_json_is_a_400(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/v1/sessions", content=body, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400)


async def test_the_recovery_link_opens_a_page_that_posts_the_new_password(api: Api) -> None:
    page = await api.client.get("/password-recovery/some-token")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    # A plain form posted back to the page's own URL (no JavaScript needed).
    assert '<form method="post">' in page.text
    assert "<script" not in page.text
    assert "some-token" not in page.text  # never echoed


async def test_successful_writes_wake_the_mail_tick_and_reads_do_not() -> None:
    world = World()
    woken: list[int] = []
    runtime = Runtime(afisha=world.afisha, wake_mail=lambda: woken.append(1))
    async with open_api(world, runtime) as api:
        await api.client.get("/v1/events")
        assert woken == []
        bad = await api.client.post("/v1/registrations", json={"email": "nope"})
        assert bad.status_code == 422
        assert woken == []
        ok = await api.client.post(
            "/v1/registrations",
            json={"email": "w@example.org", "username": "wally", "full_name": "W",
                  "password": PASSWORD},
        )  # fmt: skip
        assert ok.status_code == 202
        assert woken == [1]
