"""examples/fastapi_app.py as a team would use it: the whole user journey through
/afisha/v1/..., the docs page under the prefix, links that carry /afisha, and the host's
own routes answering with Afisha users that hold no secret."""

from __future__ import annotations

import asyncio
import email
import email.policy
import importlib.util
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8000"
PASSWORD = "a passphrase for the host app"
ADMIN_PASSWORD = "the host's admin passphrase"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", ROOT / "examples/fastapi_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastapi_app"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Path]]:
    app = example().create_host_app(tmp_path, BASE)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE) as client,
    ):
        yield client, app, tmp_path


def _search(outbox: Path, to: str, pattern: str) -> str | None:
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        if to in str(message["To"]) and body and (m := re.search(pattern, body.get_content())):
            return m.group(1)
    return None


async def mailed(outbox: Path, to: str, pattern: str) -> str:
    """The first group of ``pattern`` in a mail to ``to`` (delivered by the host's worker)."""
    for _ in range(100):
        if found := await asyncio.to_thread(_search, outbox, to, pattern):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {to} matching {pattern}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_whole_journey_runs_under_the_prefix(
    host: tuple[httpx.AsyncClient, Any, Path],
) -> None:
    client, app, data = host
    outbox = data / "outbox"
    api = "/afisha/v1"

    docs = await client.get("/afisha/docs")
    assert docs.status_code == 200
    assert "/afisha/openapi.json" in docs.text or "openapi.json" in docs.text
    spec = (await client.get("/afisha/openapi.json")).json()
    assert spec["servers"][0]["url"] == f"{BASE}/afisha"

    started = await client.post(
        f"{api}/registrations",
        json={
            "email": "ann@example.org",
            "username": "ann",
            "full_name": "Ann",
            "password": PASSWORD,
        },
    )
    assert started.status_code == 202, started.text
    code = await mailed(outbox, "ann@example.org", r"\b(\d{6})\b")
    confirmed = await client.post(
        f"{api}/registrations/{started.json()['registration_token']}/confirm", json={"code": code}
    )
    assert confirmed.status_code == 201, confirmed.text
    token = confirmed.json()["token"]

    await app.state.afisha.accounts.create_administrator(
        "boss@example.org", "boss", ADMIN_PASSWORD, is_system=True
    )
    boss = await client.post(f"{api}/sessions", json={"login": "boss", "password": ADMIN_PASSWORD})
    admin = boss.json()["token"]
    created = await client.post(
        f"{api}/events",
        json={"name": "Jazz", "starts_at": "2031-06-01T18:00:00+03:00",
              "ends_at": "2031-06-01T21:00:00+03:00", "timezone": "Europe/Moscow",
              "max_participants_count": 10},
        headers=bearer(admin),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    image = await client.put(
        f"{api}/events/{event_id}/image",
        content=PNG,
        headers={**bearer(admin), "Content-Type": "image/png"},
    )
    assert image.status_code == 200, image.text
    image_url = image.json()["image_url"]
    assert image_url.startswith(f"{BASE}/afisha/media/")
    fetched = await client.get(image_url)
    assert fetched.status_code == 200
    assert fetched.content == PNG

    joined = await client.put(f"{api}/events/{event_id}/participation", headers=bearer(token))
    assert joined.json()["my_status"] == "PARTICIPATING"
    mine = await client.get("/my-events", headers=bearer(token))
    assert [(e["id"], e["my_status"]) for e in mine.json()] == [(event_id, "PARTICIPATING")]
    calendar = await client.get(f"{api}/events/{event_id}/calendar.ics")
    assert calendar.status_code == 200
    assert f"{BASE}/afisha/events/{event_id}" in calendar.text.replace("\r\n ", "")

    me = await client.get("/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["username"] == "ann"
    assert not {"password_hash", "token_hash", "credential_version"} & set(me.json())

    asked = await client.post(f"{api}/password-recovery", json={"email": "ann@example.org"})
    assert asked.status_code == 202
    link = await mailed(outbox, "ann@example.org", r"(https?://\S+/password-recovery/\S+)")
    assert link.startswith(f"{BASE}/afisha/password-recovery/")
    page = await client.get(link)
    assert page.status_code == 200
    assert '<form method="post">' in page.text  # posts to its own URL: stays under /afisha
    recovery_token = link.rsplit("/", 1)[1]
    reset = await client.post(
        f"{api}/password-recovery/{recovery_token}", json={"password": "a new host passphrase"}
    )
    assert reset.status_code == 204

    gone = await client.get("/me", headers=bearer(token))
    assert gone.status_code == 401
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["code"] == "not_authenticated"


async def test_the_host_keeps_its_own_users_table(
    host: tuple[httpx.AsyncClient, Any, Path],
) -> None:
    client, _app, data = host
    await client.post("/host-users", json={"nickname": "zed"})
    assert [u["nickname"] for u in (await client.get("/host-users")).json()] == ["zed"]
    assert (data / "host.db").is_file()
    assert (data / "afisha.db").is_file()
