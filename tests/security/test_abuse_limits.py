"""Limits that stop abuse without stopping honest people.

- Only failed logins count against a client address: an office behind one NAT logs
  in all day; a sprayer is still stopped (``test_brute_force``).
- Every endpoint that makes the server send mail is limited per client address too,
  so nobody can make the server mail any number of addresses.
- An event lasts at most a year (a longer one is a typo) and no stored event, however
  long, can break the listing, on either SQL store.
- The participants CSV holds every matching row, not one page.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import attrs
import pytest

from afisha_core.domain import ParticipationStatus
from afisha_postgres import PostgresDatabase
from afisha_sqlite import SqliteDatabase
from tests.security._stack import PASSWORD, Stack
from tests.support.pg import fresh_schema

#: The documented default of ``Settings.mail_requests_per_address`` (per hour).
MAIL_LIMIT = 20


async def test_sixty_correct_logins_from_one_address_in_a_minute_all_succeed(
    stack: Stack,
) -> None:
    colleagues = [await stack.register() for _ in range(6)]

    statuses = []
    async with stack.from_address("203.0.113.50") as office:
        for i in range(60):
            who = colleagues[i % len(colleagues)]
            response = await office.post(
                "/v1/sessions", json={"login": who.username, "password": PASSWORD}
            )
            statuses.append(response.status_code)
            stack.clock.advance(timedelta(seconds=1))

    assert statuses == [201] * 60


async def test_failed_logins_still_count_against_the_address(stack: Stack) -> None:
    someone = await stack.register()
    address = "203.0.113.51"
    limit = stack.settings.login_attempts_per_address.count

    async with stack.from_address(address) as client:
        failures = [
            (
                await client.post("/v1/sessions", json={"login": f"nobody{i}", "password": "x"})
            ).status_code
            for i in range(limit)
        ]
        after = await client.post(
            "/v1/sessions", json={"login": someone.username, "password": PASSWORD}
        )

    assert failures == [401] * limit
    assert after.status_code == 429


async def test_registrations_from_one_address_to_many_emails_are_limited(stack: Stack) -> None:
    async def register(client_address: str, n: int) -> int:
        async with stack.from_address(client_address) as client:
            response = await client.post(
                "/v1/registrations",
                json={"email": f"victim{n}@example.net", "username": f"victim{n}",
                      "full_name": "V", "password": PASSWORD},
            )  # fmt: skip
            return response.status_code

    statuses = [await register("198.51.100.7", n) for n in range(MAIL_LIMIT + 1)]
    elsewhere = await register("198.51.100.8", MAIL_LIMIT + 1)

    assert statuses == [202] * MAIL_LIMIT + [429]
    assert elsewhere == 202


async def test_recovery_requests_from_one_address_are_limited(stack: Stack) -> None:
    async with stack.from_address("198.51.100.9") as client:
        statuses = [
            (
                await client.post("/v1/password-recovery", json={"email": f"x{n}@example.net"})
            ).status_code
            for n in range(MAIL_LIMIT + 1)
        ]
        refused = await client.post("/v1/password-recovery", json={"email": "y@example.net"})

    assert statuses == [202] * MAIL_LIMIT + [429]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    before = len(stack.sent)
    await stack.deliver()
    assert len(stack.sent) - before <= MAIL_LIMIT


async def test_an_event_longer_than_a_year_is_refused(stack: Stack) -> None:
    admin = await stack.admin()
    starts_at = stack.clock.now() + timedelta(days=1)
    body = {
        "name": "Typo",
        "starts_at": starts_at.isoformat(),
        "ends_at": starts_at.replace(year=starts_at.year + 7000).isoformat(),
    }

    created = await stack.client.post("/v1/events", json=body, headers=admin.headers)
    event = await stack.create_event(admin)
    patched = await stack.client.patch(
        f"/v1/events/{event['id']}",
        json={"ends_at": (starts_at + timedelta(days=400)).isoformat()},
        headers=admin.headers,
    )

    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["field"] == "ends_at"
    assert patched.status_code == 422, patched.text


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_stack(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Stack]:
    """A stack on either SQL store."""
    if request.param == "sqlite":
        db = SqliteDatabase(f"{tmp_path}/afisha.db")
        await db.open()
        try:
            await db.migrate()
            stack = Stack(uow=db)
            async with stack.serve():
                yield stack
        finally:
            await db.close()
        return
    async with fresh_schema() as (url, schema):
        pg = PostgresDatabase(url, schema=schema)
        await pg.migrate()
        await pg.open(wait=True)
        try:
            stack = Stack(uow=pg)
            async with stack.serve():
                yield stack
        finally:
            await pg.close()


async def test_a_stored_event_of_seven_thousand_years_does_not_break_the_listing(
    sql_stack: Stack,
) -> None:
    stack = sql_stack
    admin = await stack.admin()
    created = await stack.create_event(admin, name="Typo")
    # Written straight to the store, as an older version (or a typo in SQL) could have.
    async with stack.afisha.uow() as uow:
        event = await uow.events.get(uuid.UUID(created["id"]))
        assert event is not None
        await uow.events.update(
            attrs.evolve(event, ends_at=event.starts_at.replace(year=event.starts_at.year + 7000))
        )
        await uow.commit()
    await stack.create_event(admin, name="Normal")

    listed = await stack.client.get("/v1/events")

    assert listed.status_code == 200, listed.text
    assert sorted(e["name"] for e in listed.json()["items"]) == ["Normal", "Typo"]


async def test_the_participants_csv_holds_every_matching_row(stack: Stack) -> None:
    admin = await stack.admin()
    event = await stack.create_event(admin, starts_in=timedelta(days=30))
    people = []
    for n in range(130):
        if n and n % MAIL_LIMIT == 0:  # one client registering them: mind the mail limit
            stack.clock.advance(timedelta(hours=1, minutes=1))
        people.append(await stack.register())
    for person in people:
        joined = await stack.client.put(
            f"/v1/events/{event['id']}/participation", headers=person.headers
        )
        assert joined.status_code == 200
    for person in people[:5]:
        await stack.client.delete(f"/v1/events/{event['id']}/participation", headers=person.headers)

    headers = {**admin.headers, "Accept": "text/csv"}
    everyone = await stack.client.get(f"/v1/events/{event['id']}/participants", headers=headers)
    going = await stack.client.get(
        f"/v1/events/{event['id']}/participants",
        params={"status": ParticipationStatus.PARTICIPATING.value},
        headers=headers,
    )

    assert everyone.status_code == 200, everyone.text
    rows = list(csv.DictReader(io.StringIO(everyone.text)))
    assert len(rows) == 130
    assert {r["username"] for r in rows} == {p.username for p in people}
    going_rows = list(csv.DictReader(io.StringIO(going.text)))
    assert len(going_rows) == 125
    assert {r["status"] for r in going_rows} == {"PARTICIPATING"}
    assert "link" not in going.headers
