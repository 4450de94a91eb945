"""Personal data: the export holds every row about the caller, and erasure leaves none.

One person goes through everything that stores something about them (registration,
logins from a recognisable device, joining events, a cancelled event's notice, a
password-recovery link, two-factor login). Then, on SQLite and on PostgreSQL:

- ``GET /v1/users/me/export`` is checked against a dump of every table: each row that
  mentions the person's id or email is in the export;
- they delete the account; 30 days later (fake clock) the worker's erasure has left
  none of their email, username, full name or user agent in any table, while the
  event they attended still counts them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pyotp
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

Dump = Callable[[], Awaitable[dict[str, list[str]]]]


@attrs.define
class Person:
    """The person of the scenario and what identifies them in a dump."""

    account: Account
    full_name: str
    user_agent: str

    @property
    def traces(self) -> dict[str, str]:
        """Every value that is this person's personal data."""
        return {
            "email": self.account.email,
            "username": self.account.username,
            "full_name": self.full_name,
            "user_agent": self.user_agent,
        }


@attrs.define
class Scene:
    stack: Stack
    dump: Dump


@pytest.fixture(params=["sqlite", "postgres"])
async def scene(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scene]:
    """The stack on SQLite or PostgreSQL, and a dump of every row of every table as text."""
    if request.param == "sqlite":
        path = tmp_path / "afisha.db"

        async def sqlite_dump() -> dict[str, list[str]]:
            return {t: [repr(r) for r in rows] for t, rows in sqlite_snapshot(path).items()}

        async with open_sqlite_stack(path) as stack:
            yield Scene(stack, sqlite_dump)
        return
    url = require_postgres()
    async with migrated_database() as db:
        schema = db.schema
        assert schema is not None

        async def postgres_dump() -> dict[str, list[str]]:
            return await postgres_snapshot(url, schema)

        stack = Stack(uow=db)
        async with stack.serve():
            yield Scene(stack, postgres_dump)


async def live_a_little(stack: Stack) -> tuple[Person, dict[str, Any], dict[str, Any]]:
    """Register a person and do everything that stores data about them.

    Returns the person, an event that is over by the end (they attended it) and one that
    was cancelled.
    """
    tag = uuid.uuid4().hex[:10]
    email, username = f"zelda.{tag}@example.org", f"zelda_{tag}"
    full_name, agent = f"Zelda Quintessa {tag}", f"ProbeBrowser/7.3 ({tag})"
    started = await stack.client.post(
        "/v1/registrations",
        json={"email": email, "username": username, "full_name": full_name, "password": PASSWORD},
    )
    assert started.status_code == 202
    code = await stack.code_for(email)
    confirmed = await stack.client.post(
        f"/v1/registrations/{started.json()['registration_token']}/confirm",
        json={"code": code},
        headers={"User-Agent": agent},
    )
    assert confirmed.status_code == 201
    body = confirmed.json()
    me = Account(email, username, PASSWORD, body["token"], body["user"])
    again = await stack.client.post(
        "/v1/sessions",
        json={"login": email, "password": PASSWORD},
        headers={"User-Agent": agent + " second"},
    )
    assert again.status_code == 201
    admin = await stack.admin()
    attended = await stack.create_event(admin, starts_in=timedelta(hours=1))
    cancelled = await stack.create_event(admin, starts_in=timedelta(days=5))
    for event in (attended, cancelled):
        joined = await stack.client.put(
            f"/v1/events/{event['id']}/participation", headers=me.headers
        )
        assert joined.status_code == 200
    rejected = await stack.client.post(
        f"/v1/events/{cancelled['id']}/reject", headers=admin.headers
    )
    assert rejected.status_code == 200
    recovery = await stack.client.post("/v1/password-recovery", json={"email": email})
    assert recovery.status_code == 202
    await stack.client.post("/v1/sessions", json={"login": username, "password": "wrong guess"})
    enrolled = await stack.client.post(
        "/v1/users/me/totp", json={"password": PASSWORD}, headers=me.headers
    )
    secret = enrolled.json()["secret"]
    confirmed_totp = await stack.client.post(
        "/v1/users/me/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(stack.clock.now())},
        headers=me.headers,
    )
    assert confirmed_totp.status_code == 200
    await stack.deliver()
    return Person(me, full_name, agent), attended, cancelled


def rows_mentioning(dump: dict[str, list[str]], needles: list[str]) -> list[tuple[str, str]]:
    """``(table, row)`` for each row whose text contains one of ``needles``."""
    return [
        (table, row)
        for table, rows in dump.items()
        for row in rows
        if any(needle in row for needle in needles)
    ]


def first_value(row: str) -> str:
    """The first column of a dumped row (the key of every table of ours)."""
    first = row.removeprefix("(").split(",", 1)[0]
    return first.removeprefix("UUID(").strip(" '\")")


async def test_the_export_holds_every_row_about_the_caller(scene: Scene) -> None:
    stack = scene.stack
    person, _, _ = await live_a_little(stack)
    response = await stack.client.get("/v1/users/me/export", headers=person.account.headers)
    assert response.status_code == 200, response.text
    export = response.json()
    text = response.text
    assert export["profile"]["email"] == person.account.email
    assert export["totp"]["enabled"] is True
    assert len(export["totp"]["recovery_codes"]) == 10
    assert {s["user_agent"] for s in export["sessions"]} >= {
        person.user_agent,
        person.user_agent + " second",
    }
    assert len(export["participations"]) == 2
    actions = {e["action"] for e in export["audit"]}
    assert {"login.failed", "totp.enabled"} <= actions

    dump = await scene.dump()
    about = rows_mentioning(dump, [person.account.id, person.account.email])
    tables = {table for table, _ in about}
    assert tables >= {"users", "login_sessions", "participations", "notifications",
                      "login_recoveries", "registrations", "outbox", "totp_credentials",
                      "totp_recovery_codes", "audit_log"}  # fmt: skip
    missing = [(t, row) for t, row in about if first_value(row) not in text]
    assert missing == []
    # ...and no secret or hash of theirs
    for table, row in about:
        if table == "totp_credentials":
            values = [v.strip(" '()") for v in row.split(",")]
            assert not any(len(v) == 32 and v in text for v in values)
    assert "password_hash" not in text
    assert "token_hash" not in text
    assert "code_hash" not in text


async def test_thirty_days_after_deletion_nothing_personal_remains(scene: Scene) -> None:
    stack = scene.stack
    person, attended, _ = await live_a_little(stack)
    other = await stack.register()  # someone else, whose data must stay
    stack.clock.advance(timedelta(hours=4))  # the attended event is over
    gone = await stack.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=person.account.headers
    )
    assert gone.status_code == 204

    stack.clock.advance(timedelta(days=29))
    assert await stack.afisha.personal_data.erase_due() == 0
    early = rows_mentioning(await scene.dump(), list(person.traces.values()))
    assert early, "the data should still be there before the retention ends"

    stack.clock.advance(timedelta(days=1, minutes=1))
    assert await stack.afisha.personal_data.erase_due() == 1
    dump = await scene.dump()
    leftovers = rows_mentioning(dump, list(person.traces.values()))
    assert leftovers == []
    # nothing of the person in any spelling either
    lowered = [row.lower() for rows in dump.values() for row in rows]
    for value in person.traces.values():
        assert not any(value.lower() in row for row in lowered), value
    assert rows_mentioning(dump, [other.email]), "someone else's data went too"

    event = await stack.client.get(f"/v1/events/{attended['id']}")
    assert event.json()["participants_count"] == 1  # the count stays, anonymous
    assert await stack.afisha.personal_data.erase_due() == 0  # erased once
    admin = await stack.admin()
    log = await stack.client.get(
        "/v1/audit-log",
        params={"target_id": person.account.id, "action": "account.erased"},
        headers=admin.headers,
    )
    assert len(log.json()["items"]) == 1
    login = await stack.client.post(
        "/v1/sessions", json={"login": person.account.email, "password": PASSWORD}
    )
    assert login.status_code == 401
