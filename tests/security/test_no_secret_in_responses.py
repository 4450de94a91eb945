"""No response ever carries a password hash, a password or a stored token hash.

A full flow runs through HTTP with the production argon2id hasher (so a leaked hash
would read ``$argon2id$...``): accounts, sessions, profile and password changes,
recovery, events with participants (JSON and CSV), notifications, administration and a
handful of errors. Every response body and header seen on the way is then scanned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.tokens import hash_token
from tests.security._stack import PASSWORD, Stack, open_sqlite_stack, sqlite_text_cells

NEW_PASSWORD = "another secret pw 1"


@pytest.fixture
async def argon_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The app on SQLite with the production hasher."""
    async with open_sqlite_stack(tmp_path / "afisha.db", hasher=Argon2PasswordHasher()) as stack:
        yield stack


async def full_flow(stack: Stack) -> list[bytes]:
    """Every kind of response the API gives; return the headers seen, as bytes."""
    client = stack.client
    headers_seen: list[bytes] = []

    async def call(method: str, url: str, **kwargs: object) -> None:
        response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        headers_seen.append(repr(response.headers.multi_items()).encode())

    admin = await stack.admin()
    ann, bob = await stack.register(), await stack.register()
    ann2 = await stack.relogin(ann)
    event = await stack.create_event(admin, max_participants_count=1, location="Hall")
    eid = event["id"]
    a, b, adm = ann.headers, bob.headers, admin.headers
    await call("PUT", f"/v1/events/{eid}/participation", headers=a)
    await call("PUT", f"/v1/events/{eid}/participation", headers=b, json={"waitlist": True})
    await call("GET", f"/v1/events/{eid}/participants", headers=adm)
    await call("GET", f"/v1/events/{eid}/participants", headers={**adm, "Accept": "text/csv"})
    await call("PATCH", f"/v1/events/{eid}", headers=adm, json={"location": "Other hall"})
    await call("GET", f"/v1/events/{eid}/calendar.ics")
    await call("DELETE", f"/v1/events/{eid}/participation", headers=a)
    await call("GET", "/v1/users/me/events", headers=b)
    await call("GET", "/v1/notifications", headers=b)
    await call("POST", "/v1/notifications/ack-all", headers=b)
    await call("GET", "/v1/events", headers=a)
    await call("GET", f"/v1/events/{eid}", headers=a)
    await call("GET", "/v1/users", headers=adm)
    await call("GET", "/v1/users", headers=adm, params={"q": ann.username})
    await call("PATCH", f"/v1/users/{bob.id}", headers=adm, json={"role": "ADMINISTRATOR"})
    await call("GET", "/v1/users/me", headers=a)
    await call("PATCH", "/v1/users/me", headers=a, json={"full_name": "Ann Again"})
    await call("GET", "/v1/sessions", headers=a)
    await call("POST", "/v1/sessions", json={"login": ann.username, "password": "wrong one!"})
    await call(
        "POST",
        "/v1/users/me/password",
        headers=a,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    await call(
        "POST",
        "/v1/users/me/password",
        headers=a,
        json={"current_password": "wrong one!", "new_password": "yet another secret"},
    )
    await call("GET", "/v1/sessions", headers=ann2.headers)
    await call("POST", "/v1/password-recovery", json={"email": bob.email})
    token = await stack.recovery_token_for(bob.email)
    await call("POST", f"/v1/password-recovery/{token}", json={"password": "short"})
    await call("POST", f"/v1/password-recovery/{token}", json={"password": NEW_PASSWORD})
    await call("POST", "/v1/sessions", json={"login": bob.email, "password": NEW_PASSWORD})
    await call("POST", "/v1/events", headers=adm, json={"name": "", "starts_at": "x"})
    await call("DELETE", "/v1/users/me", headers=a, json={"password": "wrong one!"})
    await call("DELETE", "/v1/users/me", headers=a, json={"password": NEW_PASSWORD})
    await call("GET", "/v1/users", headers=adm)
    await call("GET", "/healthz")
    await call("GET", "/readyz")
    return headers_seen


async def test_no_response_carries_a_hash_password_or_token_hash(
    argon_stack: Stack, tmp_path: Path
) -> None:
    stack = argon_stack

    headers = await full_flow(stack)

    stored = {
        value
        for table, column, value in sqlite_text_cells(tmp_path / "afisha.db")
        if column in {"password_hash", "token_hash", "code_hash"}
    }
    assert any(h.startswith("$argon2id$") for h in stored)
    forbidden = [b"argon2", b"$argon", PASSWORD.encode(), NEW_PASSWORD.encode()]
    forbidden += [h.encode() for h in stored]
    forbidden += [hash_token(t).encode() for t in stack.tokens.issued_tokens]
    seen = [*stack.bodies, *headers]
    assert len(stack.bodies) > 30
    for blob in seen:
        for secret in forbidden:
            assert secret not in blob, (secret[:12], blob[:300])
    assert not any(b"$" in body for body in stack.bodies)
