"""PostgreSQL stops in the middle of a rush of sign-ups, then comes back.

The app runs on :class:`~afisha_postgres.PostgresDatabase` against a private cluster
(the shared server serves other tests), which this test crashes (``pg_ctl stop -m
immediate``: connections cut, no checkpoint) while forty people race for fifteen
spots and ten more confirm their registrations. It must:

- answer 503 with ``Retry-After`` while the server is down, and never 500;
- recover by itself (same app, same pool) once the server is back;
- never half-apply a request: the capacity is never exceeded, every 2xx join is still
  there afterwards, a registration is confirmed exactly when its user exists (with a
  session), and counts agree with the rows.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import psycopg
import pytest

from afisha_postgres import PostgresDatabase
from afisha_starlette.runtime import Check
from tests.faults._servers import PostgresCluster
from tests.security._stack import PASSWORD, Stack

CAPACITY = 15
PEOPLE = 40
NEWCOMERS = 10


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster, started; deleted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="afisha-faults-"))
    folder.chmod(0o755)  # the postgres user must reach the cluster inside
    server = PostgresCluster(folder / "cluster")
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()
        folder.rmdir()


@pytest.fixture
async def stack(cluster: PostgresCluster) -> AsyncIterator[Stack]:
    """The app on the private cluster, with a pool that gives up waiting after 1 s."""
    db = PostgresDatabase(cluster.url, min_size=2, max_size=8, timeout=1.0, connect_timeout=1)
    await db.migrate()
    await db.open(wait=True)
    checks: dict[str, Check] = {"database": db.ping}
    try:
        opened = Stack(uow=db, checks=checks)
        async with opened.serve():
            yield opened
    finally:
        await db.close()


@attrs.define
class Person:
    """One of the crowd and every answer they got."""

    name: str
    token: str = ""
    registration: str = ""
    code: str = ""
    answers: list[int] = attrs.field(factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def crowd(stack: Stack) -> tuple[list[Person], list[Person]]:
    """Confirmed people who will race for spots, and newcomers who will confirm."""
    people, newcomers = [], []
    for i in range(PEOPLE + NEWCOMERS):
        person = Person(f"racer{i}")
        person.registration = await stack.afisha.accounts.register(
            f"{person.name}@example.org", person.name, "Racer", PASSWORD
        )
        person.code = stack.tokens.issued_codes[-1]
        if i < PEOPLE:
            result = await stack.afisha.accounts.confirm(person.registration, person.code)
            person.token = result.token
            people.append(person)
        else:
            newcomers.append(person)
    return people, newcomers


def check_answer(response: httpx.Response, allowed: set[int]) -> int:
    """Record-worthy status of a response; 503s must say when to retry."""
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    if response.status_code == 503:
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["retry-after"]) >= 1
    return response.status_code


async def race(stack: Stack, person: Person, event_id: str, until: float) -> None:
    """Join until a definite answer (200 or 409 full), retrying 503s, until ``until``."""
    while time.monotonic() < until:
        response = await stack.client.put(
            f"/v1/events/{event_id}/participation", headers=person.headers
        )
        status = check_answer(response, {200, 409, 503})
        person.answers.append(status)
        if status == 409:
            assert response.json()["code"] == "event_full"
        if status in (200, 409):
            return
        await asyncio.sleep(0.05)


async def confirm(stack: Stack, person: Person, until: float) -> None:
    """Confirm the registration, retrying 503s, until ``until``."""
    while time.monotonic() < until:
        response = await stack.client.post(
            f"/v1/registrations/{person.registration}/confirm", json={"code": person.code}
        )
        status = check_answer(response, {201, 404, 503})
        person.answers.append(status)
        if status == 201:
            person.token = response.json()["token"]
        if status != 503:
            return
        await asyncio.sleep(0.05)


async def browse(stack: Stack, until: float, seen: list[int]) -> None:
    """Read-only traffic meanwhile."""
    while time.monotonic() < until:
        response = await stack.client.get("/v1/events")
        seen.append(check_answer(response, {200, 503}))
        await asyncio.sleep(0.02)


async def crash_and_restart(cluster: PostgresCluster, stack: Stack, during: list[int]) -> None:
    """Crash the server once the rush is under way; probe it while down; start it."""
    await asyncio.sleep(0.15)
    await asyncio.to_thread(cluster.stop)
    for _ in range(2):
        response = await stack.client.get("/v1/events")
        during.append(check_answer(response, {503}))
    ready = await stack.client.get("/readyz")
    assert ready.status_code == 503
    assert "database" in ready.text
    await asyncio.sleep(0.5)
    await asyncio.to_thread(cluster.start)


async def rows(cluster: PostgresCluster, query: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(cluster.url) as conn:
        return await (await conn.execute(query)).fetchall()


async def test_a_postgres_crash_mid_rush_is_503_then_recovers_and_half_applies_nothing(
    stack: Stack, cluster: PostgresCluster
) -> None:
    admin = await stack.admin()
    event = await stack.create_event(admin, max_participants_count=CAPACITY)
    people, newcomers = await crowd(stack)
    during: list[int] = []
    browsing: list[int] = []
    until = time.monotonic() + 20

    await asyncio.gather(
        crash_and_restart(cluster, stack, during),
        browse(stack, time.monotonic() + 1.5, browsing),
        *(race(stack, p, event["id"], until) for p in people),
        *(confirm(stack, p, until) for p in newcomers),
    )

    assert during == [503, 503]
    assert 503 in {s for p in people for s in p.answers} | set(browsing)
    for _ in range(100):  # the same app, the same pool: no restart of ours
        if (await stack.client.get("/readyz")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the app did not recover after PostgreSQL came back")
    for person in people:
        assert person.answers[-1] in (200, 409), person
    joined = [p for p in people if p.answers[-1] == 200]
    assert len(joined) == CAPACITY
    for person in joined:
        seen = await stack.client.get(f"/v1/events/{event['id']}", headers=person.headers)
        assert seen.json()["my_status"] == "PARTICIPATING", person
    for person in people:
        if person not in joined:
            seen = await stack.client.get(f"/v1/events/{event['id']}", headers=person.headers)
            assert seen.json()["my_status"] is None, person
    view = (await stack.client.get(f"/v1/events/{event['id']}")).json()
    assert view["participants_count"] == CAPACITY
    assert view["spots_left"] == 0
    [(participating,)] = await rows(
        cluster, "SELECT count(*) FROM participations WHERE status = 'PARTICIPATING'"
    )
    assert participating == CAPACITY
    for person in newcomers:
        assert person.answers[-1] == 201, person
        assert (await stack.client.get("/v1/users/me", headers=person.headers)).status_code == 200
    confirmed = await rows(
        cluster,
        "SELECT r.email, r.confirmed_at IS NOT NULL, count(DISTINCT u.id), count(s.uid) "
        "FROM registrations r LEFT JOIN users u ON u.email = r.email "
        "LEFT JOIN login_sessions s ON s.user_id = u.id GROUP BY r.email, r.confirmed_at",
    )
    assert len(confirmed) == PEOPLE + NEWCOMERS
    for email, is_confirmed, users, sessions in confirmed:
        assert is_confirmed, email
        assert users == 1, email
        assert sessions == 1, email
