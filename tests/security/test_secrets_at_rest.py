"""What a stolen database dump gives away: no token, code or password in the clear.

A full flow runs through HTTP (register and confirm, log in twice, a pending
registration, wrong codes, recovery asked and used, a password change, log out, an
administrator) on SQLite and on PostgreSQL, collecting every secret the clients were
given or chose. Then every text column of every table is scanned for them. Tokens and
passwords must not appear anywhere, not even as part of a longer value; a 6-digit code
must be neither a whole value nor a word of one (timestamps aside). Only the SHA-256
of each token may be stored.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import attrs
import psycopg
import pytest
from psycopg import sql

from afisha_core.tokens import hash_token
from tests.security._stack import (
    PASSWORD,
    Stack,
    open_sqlite_stack,
    sqlite_text_cells,
)
from tests.support.pg import migrated_database
from tests.support.services import require_postgres

Cell = tuple[str, str, str]


@attrs.define
class Secrets:
    """What the clients of one flow know and the database must not."""

    tokens: dict[str, list[str]] = attrs.field(factory=dict)
    passwords: list[str] = attrs.field(factory=list)
    codes: list[str] = attrs.field(factory=list)

    def add_token(self, kind: str, token: str) -> None:
        self.tokens.setdefault(kind, []).append(token)

    def all_tokens(self) -> list[tuple[str, str]]:
        return [(kind, t) for kind, tokens in self.tokens.items() for t in tokens]


@attrs.define
class Backend:
    """A stack on a real database, and how to read every text cell of it."""

    stack: Stack
    cells: Callable[[], Awaitable[list[Cell]]]


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The app on a SQLite file, or on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "afisha.db"

        async def sqlite_cells() -> list[Cell]:
            return list(sqlite_text_cells(path))

        async with open_sqlite_stack(path) as stack:
            yield Backend(stack, sqlite_cells)
        return
    url = require_postgres()
    async with migrated_database() as db:
        schema = db.schema
        assert schema is not None

        async def postgres_cells() -> list[Cell]:
            return await postgres_text_cells(url, schema)

        stack = Stack(uow=db)
        async with stack.serve():
            yield Backend(stack, postgres_cells)


async def postgres_text_cells(url: str, schema: str) -> list[Cell]:
    """Every textual value in the schema's tables, as text."""
    found: list[Cell] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        columns = await (
            await conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND data_type IN "
                "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')",
                (schema,),
            )
        ).fetchall()
        for table, column in columns:
            query = sql.SQL("SELECT {}::text FROM {}.{} WHERE {} IS NOT NULL").format(
                sql.Identifier(column),
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.Identifier(column),
            )
            for (value,) in await (await conn.execute(query)).fetchall():
                found.append((table, column, value))
    return found


async def run_flow(stack: Stack) -> Secrets:
    """Everything an account's life touches, through HTTP; return what the clients hold."""
    secrets = Secrets()
    client = stack.client

    ann = await stack.register()
    secrets.add_token("session", ann.token)
    secrets.passwords.append(ann.password)
    secrets.add_token("session", (await stack.relogin(ann)).token)

    pending = await client.post(
        "/v1/registrations",
        json={
            "email": "pending@example.org",
            "username": "pending",
            "full_name": "Pending",
            "password": "a pending secret pw",
        },
    )
    secrets.add_token("registration", pending.json()["registration_token"])
    secrets.passwords.append("a pending secret pw")
    secrets.codes.append(await stack.code_for("pending@example.org"))
    wrong = await client.post(
        f"/v1/registrations/{pending.json()['registration_token']}/confirm",
        json={"code": "000000" if secrets.codes[-1] != "000000" else "111111"},
    )
    assert wrong.status_code == 422

    asked = await client.post("/v1/password-recovery", json={"email": ann.email})
    assert asked.status_code == 202
    recovery = await stack.recovery_token_for(ann.email)
    secrets.add_token("recovery", recovery)
    reset = await client.post(
        f"/v1/password-recovery/{recovery}", json={"password": "reset secret pw 2"}
    )
    assert reset.status_code == 204
    secrets.passwords.append("reset secret pw 2")

    again = await client.post(
        "/v1/sessions", json={"login": ann.email, "password": "reset secret pw 2"}
    )
    assert again.status_code == 201
    token = again.json()["token"]
    secrets.add_token("session", token)
    changed = await client.post(
        "/v1/users/me/password",
        json={"current_password": "reset secret pw 2", "new_password": "changed secret pw 3"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert changed.status_code == 204
    secrets.passwords.append("changed secret pw 3")
    out = await client.delete("/v1/sessions/current", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204

    await client.post("/v1/password-recovery", json={"email": ann.email})
    secrets.add_token("recovery", await stack.recovery_token_for(ann.email))

    admin = await stack.admin()
    secrets.add_token("session", admin.token)
    secrets.passwords.append(PASSWORD)
    for token in stack.tokens.issued_tokens:  # every token the core handed out
        if all(token != t for _, t in secrets.all_tokens()):
            secrets.add_token("other", token)
    secrets.codes.extend(c for c in stack.tokens.issued_codes if c not in secrets.codes)
    await stack.deliver()
    return secrets


def leaks(cells: list[Cell], secrets: Secrets) -> list[tuple[str, str, str]]:
    """Each (table.column, kind, secret) where a secret is stored in the clear."""
    found = []
    for table, column, value in cells:
        where = f"{table}.{column}"
        for kind, token in secrets.all_tokens():
            if token in value:
                found.append((where, f"{kind} token", token[:8] + "..."))
        found.extend((where, "password", p) for p in secrets.passwords if p in value)
        for code in secrets.codes:
            standalone = not column.endswith("_at") and re.search(rf"\b{code}\b", value)
            if value.strip() == code or standalone:
                found.append((where, "code", code))
    return found


async def test_no_table_but_the_outbox_holds_a_secret_in_the_clear(backend: Backend) -> None:
    secrets = await run_flow(backend.stack)

    cells = await backend.cells()

    assert {t for t, _, _ in cells} >= {"users", "login_sessions", "registrations"}
    found = [leak for leak in leaks(cells, secrets) if not leak[0].startswith("outbox.")]
    assert found == []


async def test_only_the_sha256_of_each_token_is_stored(backend: Backend) -> None:
    secrets = await run_flow(backend.stack)

    cells = await backend.cells()

    stored = {value for _, column, value in cells if column == "token_hash"}
    for kind in ("session", "registration", "recovery"):
        for token in secrets.tokens[kind]:
            assert hash_token(token) in stored, kind


async def test_a_sent_email_leaves_no_secret_in_the_outbox(backend: Backend) -> None:
    secrets = await run_flow(backend.stack)
    assert await backend.stack.deliver() == []  # everything has been sent

    cells = await backend.cells()

    assert [leak for leak in leaks(cells, secrets) if leak[0].startswith("outbox.")] == []
