"""The personal calendar feed, subscribed to by four real calendar parsers across changes.

A user joins events in three time zones (one across a DST change) and waits for a
fourth; the feed is fetched as a calendar app would, then again after the time of one
event changes and after another is cancelled. ical.js (Thunderbird, Nextcloud; run with
node), vobject, icalendar and the ``ics`` package each read every snapshot: the same
events, the same instants, ``SEQUENCE`` up for each change, ``STATUS:CANCELLED`` kept.
Conditional requests with the feed's ``ETag`` or ``Last-Modified`` get 304 until
something changes; rotating and revoking the URL turn the old one into 404.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import ics
import pytest
import vobject

from afisha_core.testing import FakeClock
from afisha_core.tokens import hash_token
from tests.clients._tools import CLIENTS_DIR, node_tool, require
from tests.support.http import Account, Api, open_api
from tests.support.world import World

pytestmark = pytest.mark.asyncio

# What a parser reads from a feed: by UID, (start, end, sequence, status) with UTC instants.
Entry = tuple[datetime, datetime, int, str]
Reading = dict[str, Entry]


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _local(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> str:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).isoformat()


def _icalendar(data: bytes) -> Reading:
    return {
        str(e["UID"]): (
            e.decoded("DTSTART").astimezone(UTC),
            e.decoded("DTEND").astimezone(UTC),
            int(e.decoded("SEQUENCE")),
            str(e["STATUS"]),
        )
        for e in icalendar.Calendar.from_ical(data).walk("VEVENT")
    }


def _vobject(data: bytes) -> Reading:
    known: dict[str, Any] = vars(vobject.icalendar)["__tzidMap"]
    known.clear()  # read each file's zones from its own VTIMEZONEs
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    calendar: Any = vobject.readOne(data.decode())
    return {
        e.uid.value: (
            e.dtstart.value.astimezone(UTC),
            e.dtend.value.astimezone(UTC),
            int(e.sequence.value),
            e.status.value,
        )
        for e in calendar.vevent_list
    }


def _ics(data: bytes) -> Reading:
    reading: Reading = {}
    for e in ics.Calendar(data.decode()).events:
        sequence = next(int(line.value) for line in e.extra if line.name == "SEQUENCE")
        reading[e.uid] = (
            e.begin.datetime.astimezone(UTC),
            e.end.datetime.astimezone(UTC),
            sequence,
            str(e.status),
        )
    return reading


def _ical_js(data: bytes, folder: Path) -> Reading:
    node_tool("ical.js")
    node = require(shutil.which("node"), "node", "apt-get install -y nodejs")
    path = folder / f"feed-{len(list(folder.iterdir()))}.ics"
    path.write_bytes(data)
    command = [node, str(CLIENTS_DIR / "ical_feed.mjs"), str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert completed.returncode == 0, completed.stderr
    events: dict[str, dict[str, Any]] = json.loads(completed.stdout)[str(path)]
    return {
        uid: (
            datetime.fromisoformat(e["start"]),
            datetime.fromisoformat(e["end"]),
            int(e["sequence"]),
            str(e["status"]),
        )
        for uid, e in events.items()
    }


PARSERS: dict[str, Callable[[bytes], Reading]] = {
    "icalendar": _icalendar,
    "vobject": _vobject,
    "ics": _ics,
}


def _read_everywhere(data: bytes, folder: Path) -> Reading:
    """What all four parsers read, after checking that they agree."""
    readings = {name: parse(data) for name, parse in PARSERS.items()}
    readings["ical.js"] = _ical_js(data, folder)
    first = readings["icalendar"]
    for name, reading in readings.items():
        assert reading == first, f"{name} reads {reading}, icalendar reads {first}"
    return first


async def _fetch(api: Api, path: str, **headers: str) -> Any:
    return await api.client.get(path, headers=headers)


async def _new_event(api: Api, admin: Account, **body: Any) -> str:
    response = await api.client.post("/v1/events", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_subscribed_feed_follows_joins_changes_and_cancellations(
    tmp_path: Path,
) -> None:
    world = World(clock=FakeClock(_utc(2026, 6, 1, 9, 0)))
    async with open_api(world) as api:
        admin = await api.admin()
        me, other = await api.register(), await api.register()
        moscow = await _new_event(
            api, admin, name="Moscow", timezone="Europe/Moscow",
            starts_at=_local("Europe/Moscow", 2026, 12, 4, 19, 0),
            ends_at=_local("Europe/Moscow", 2026, 12, 4, 21, 0),
        )  # fmt: skip
        new_york = await _new_event(
            api, admin, name="Across fall-back", timezone="America/New_York",
            starts_at=_local("America/New_York", 2026, 10, 31, 22, 0),
            ends_at=_local("America/New_York", 2026, 11, 1, 10, 0),
        )  # fmt: skip
        berlin = await _new_event(
            api, admin, name="Berlin", timezone="Europe/Berlin",
            starts_at=_local("Europe/Berlin", 2026, 7, 10, 19, 0),
            ends_at=_local("Europe/Berlin", 2026, 7, 10, 21, 0),
        )  # fmt: skip
        full = await _new_event(
            api, admin, name="Full", max_participants_count=1,
            starts_at=_utc(2026, 8, 1, 18, 0).isoformat(),
            ends_at=_utc(2026, 8, 1, 20, 0).isoformat(),
        )  # fmt: skip
        left = await _new_event(
            api, admin, name="Left",
            starts_at=_utc(2026, 8, 2, 18, 0).isoformat(),
            ends_at=_utc(2026, 8, 2, 20, 0).isoformat(),
        )  # fmt: skip
        await _new_event(
            api, admin, name="Not mine",
            starts_at=_utc(2026, 8, 3, 18, 0).isoformat(),
            ends_at=_utc(2026, 8, 3, 20, 0).isoformat(),
        )  # fmt: skip
        for event_id in (moscow, new_york, berlin, left):
            assert (await api.join(me, event_id)).status_code == 200
        assert (await api.join(other, full)).status_code == 200
        waiting = await api.join(me, full, waitlist=True)
        assert waiting.status_code == 200, waiting.text
        assert waiting.json()["my_status"] == "WAITLISTED"
        gone = await api.client.delete(f"/v1/events/{left}/participation", headers=me.headers)
        assert gone.status_code == 200, gone.text

        issued = await api.client.post("/v1/users/me/calendar-feed", headers=me.headers)
        assert issued.status_code == 201, issued.text
        url = issued.json()["url"]
        assert url.startswith(world.afisha.settings.public_url.rstrip("/") + "/v1/calendar-feeds/")
        assert url.endswith(".ics")
        path = urlsplit(url).path

        # 1. The feed as first subscribed: the four followed events, none other.
        first = await _fetch(api, path)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("text/calendar")
        assert "private" in first.headers["cache-control"]
        assert first.content.count(b"BEGIN:VTIMEZONE") == 3  # Moscow, New York, Berlin
        seen = _read_everywhere(first.content, tmp_path)
        uid = {e: f"{e}@afisha" for e in (moscow, new_york, berlin, full, left)}
        assert set(seen) == {uid[moscow], uid[new_york], uid[berlin], uid[full]}
        assert seen[uid[moscow]][:2] == (_utc(2026, 12, 4, 16, 0), _utc(2026, 12, 4, 18, 0))
        assert seen[uid[new_york]][:2] == (_utc(2026, 11, 1, 2, 0), _utc(2026, 11, 1, 15, 0))
        assert seen[uid[berlin]][:2] == (_utc(2026, 7, 10, 17, 0), _utc(2026, 7, 10, 19, 0))
        assert {entry[3] for entry in seen.values()} == {"CONFIRMED"}

        # Polling an unchanged feed costs a 304, by ETag or by date.
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = await _fetch(api, path, **{"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag
        by_date = await _fetch(api, path, **{"If-Modified-Since": modified})
        assert by_date.status_code == 304
        assert (await _fetch(api, path, **{"If-None-Match": '"other"'})).status_code == 200

        # 2. The Moscow event moves an hour later: new times, SEQUENCE up.
        world.clock.advance(timedelta(hours=1))
        moved = await api.client.patch(
            f"/v1/events/{moscow}",
            json={
                "starts_at": _local("Europe/Moscow", 2026, 12, 4, 20, 0),
                "ends_at": _local("Europe/Moscow", 2026, 12, 4, 22, 0),
            },
            headers=admin.headers,
        )
        assert moved.status_code == 200, moved.text
        stale = await _fetch(api, path, **{"If-None-Match": etag})
        assert stale.status_code == 200
        assert stale.headers["etag"] != etag
        assert (await _fetch(api, path, **{"If-Modified-Since": modified})).status_code == 200
        after_move = _read_everywhere(stale.content, tmp_path)
        assert after_move[uid[moscow]][:2] == (_utc(2026, 12, 4, 17, 0), _utc(2026, 12, 4, 19, 0))
        assert after_move[uid[moscow]][2] > seen[uid[moscow]][2]
        for unchanged in (new_york, berlin, full):
            assert after_move[uid[unchanged]] == seen[uid[unchanged]]

        # 3. Berlin is cancelled: it stays, CANCELLED, with SEQUENCE up again.
        world.clock.advance(timedelta(hours=1))
        cancelled = await api.client.post(f"/v1/events/{berlin}/reject", headers=admin.headers)
        assert cancelled.status_code == 200, cancelled.text
        after_cancel = _read_everywhere((await _fetch(api, path)).content, tmp_path)
        assert set(after_cancel) == set(seen)
        assert after_cancel[uid[berlin]][3] == "CANCELLED"
        assert after_cancel[uid[berlin]][2] > after_move[uid[berlin]][2]
        assert after_cancel[uid[berlin]][:2] == seen[uid[berlin]][:2]
        assert after_cancel[uid[moscow]] == after_move[uid[moscow]]


async def _feed_owner(api: Api) -> tuple[Account, str]:
    me = await api.register()
    issued = await api.client.post("/v1/users/me/calendar-feed", headers=me.headers)
    assert issued.status_code == 201, issued.text
    return me, urlsplit(issued.json()["url"]).path


async def test_rotating_the_feed_kills_the_old_url_and_revoking_kills_the_new() -> None:
    world = World(clock=FakeClock(_utc(2026, 6, 1, 9, 0)))
    async with open_api(world) as api:
        me, old = await _feed_owner(api)
        assert (await _fetch(api, old)).status_code == 200
        rotated = await api.client.post("/v1/users/me/calendar-feed", headers=me.headers)
        assert rotated.status_code == 201
        new = urlsplit(rotated.json()["url"]).path
        assert new != old
        assert (await _fetch(api, old)).status_code == 404
        assert (await _fetch(api, new)).status_code == 200
        revoked = await api.client.delete("/v1/users/me/calendar-feed", headers=me.headers)
        assert revoked.status_code == 204
        assert (await _fetch(api, new)).status_code == 404
        again = await api.client.delete("/v1/users/me/calendar-feed", headers=me.headers)
        assert again.status_code == 204


async def test_the_feed_needs_a_login_to_issue_and_its_token_only_to_read() -> None:
    world = World(clock=FakeClock(_utc(2026, 6, 1, 9, 0)))
    async with open_api(world) as api:
        assert (await api.client.post("/v1/users/me/calendar-feed")).status_code == 401
        assert (await api.client.delete("/v1/users/me/calendar-feed")).status_code == 401
        assert (await _fetch(api, "/v1/calendar-feeds/not-a-token.ics")).status_code == 404
        me, path = await _feed_owner(api)
        token = path.removeprefix("/v1/calendar-feeds/").removesuffix(".ics")
        assert me.token  # a logged-in owner, whose token is not the feed's
        # Only the token's SHA-256 is stored: the token itself appears in no row.
        async with world.afisha.uow() as uow:
            stored = await uow.calendar_feeds.get_by_token_hash(hash_token(token))
        assert stored is not None
        assert stored.token_hash != token
        assert token not in repr(stored)


async def test_a_deleted_accounts_feed_stops_working() -> None:
    world = World(clock=FakeClock(_utc(2026, 6, 1, 9, 0)))
    async with open_api(world) as api:
        me, path = await _feed_owner(api)
        deleted = await api.client.request(
            "DELETE", "/v1/users/me", json={"password": me.password}, headers=me.headers
        )
        assert deleted.status_code == 204, deleted.text
        assert (await _fetch(api, path)).status_code == 404


async def test_events_that_ended_over_30_days_ago_leave_the_feed(tmp_path: Path) -> None:
    world = World(clock=FakeClock(_utc(2026, 6, 1, 9, 0)))
    async with open_api(world) as api:
        admin = await api.admin()
        me, path = await _feed_owner(api)
        event = await api.create_event(admin, starts_in=timedelta(days=1))
        assert (await api.join(me, event["id"])).status_code == 200
        assert f"{event['id']}@afisha" in _icalendar((await _fetch(api, path)).content)
        world.clock.advance(timedelta(days=29))
        assert f"{event['id']}@afisha" in _icalendar((await _fetch(api, path)).content)
        world.clock.advance(timedelta(days=3))
        assert _icalendar((await _fetch(api, path)).content) == {}
