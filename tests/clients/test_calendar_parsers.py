"""The calendar file reads as the same instants in the calendar engines people use.

Four independent parsers read each file served by the app: ical.js (Thunderbird,
Nextcloud; run with node), vobject (dateutil's VTIMEZONE reader), icalendar and the
``ics`` package. Each must find the expected UTC start and end, for zones with and
without daylight saving time and for an event that spans a DST change.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import ics
import pytest
import vobject

from afisha_core.testing import FakeClock
from tests.clients._tools import CLIENTS_DIR, node_tool, require
from tests.support.http import open_api
from tests.support.world import World

Instants = tuple[datetime, datetime]


Wall = tuple[int, int, int, int, int]


def _local(zone: str, wall: Wall) -> datetime:
    return datetime(*wall, tzinfo=ZoneInfo(zone))


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# (name, zone, local start, local end, expected UTC start, expected UTC end)
CASES: list[tuple[str, str, Wall, Wall, datetime, datetime]] = [
    ("moscow", "Europe/Moscow", (2026, 12, 4, 19, 0), (2026, 12, 4, 21, 0),
     _utc(2026, 12, 4, 16, 0), _utc(2026, 12, 4, 18, 0)),
    ("berlin-summer", "Europe/Berlin", (2026, 7, 10, 19, 0), (2026, 7, 10, 21, 0),
     _utc(2026, 7, 10, 17, 0), _utc(2026, 7, 10, 19, 0)),
    ("berlin-winter", "Europe/Berlin", (2026, 12, 10, 19, 0), (2026, 12, 10, 21, 0),
     _utc(2026, 12, 10, 18, 0), _utc(2026, 12, 10, 20, 0)),
    # New York falls back at 02:00 EDT on 2026-11-01: the event starts in EDT, ends in EST.
    ("new-york-across-fall-back", "America/New_York", (2026, 10, 31, 22, 0),
     (2026, 11, 1, 10, 0), _utc(2026, 11, 1, 2, 0), _utc(2026, 11, 1, 15, 0)),
    # ... and springs forward at 02:00 EST on 2027-03-14.
    ("new-york-across-spring-forward", "America/New_York", (2027, 3, 13, 22, 0),
     (2027, 3, 14, 10, 0), _utc(2027, 3, 14, 3, 0), _utc(2027, 3, 14, 14, 0)),
    ("yekaterinburg", "Asia/Yekaterinburg", (2026, 12, 4, 19, 0), (2026, 12, 4, 21, 0),
     _utc(2026, 12, 4, 14, 0), _utc(2026, 12, 4, 16, 0)),
    ("utc", "UTC", (2026, 12, 4, 19, 0), (2026, 12, 4, 21, 0),
     _utc(2026, 12, 4, 19, 0), _utc(2026, 12, 4, 21, 0)),
]  # fmt: skip


@pytest.fixture(scope="module")
def calendar_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each case's event published through the API and its .ics fetched, by case name."""
    folder = tmp_path_factory.mktemp("ics")

    async def publish() -> dict[str, Path]:
        world = World(clock=FakeClock(_utc(2026, 6, 1, 9, 0)))
        admin = await world.admin()
        files: dict[str, Path] = {}
        async with open_api(world) as api:
            login = await api.login(admin.username)
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            for name, zone, start, end, *_ in CASES:
                created = await api.client.post(
                    "/v1/events",
                    headers=headers,
                    json={
                        "name": name,
                        "timezone": zone,
                        "starts_at": _local(zone, start).isoformat(),
                        "ends_at": _local(zone, end).isoformat(),
                    },
                )
                assert created.status_code == 201, created.text
                response = await api.client.get(f"/v1/events/{created.json()['id']}/calendar.ics")
                assert response.status_code == 200, response.text
                files[name] = folder / f"{name}.ics"
                files[name].write_bytes(response.content)
        return files

    return asyncio.run(publish())


def _icalendar(data: bytes) -> Instants:
    (vevent,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    return vevent.decoded("DTSTART"), vevent.decoded("DTEND")


def _vobject(data: bytes) -> Instants:
    # vobject keeps the first zone it saw for a TZID for the whole process: forget
    # them, so each file is read from its own VTIMEZONE.
    known: dict[str, Any] = vars(vobject.icalendar)["__tzidMap"]
    known.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    vevent: Any = vobject.readOne(data.decode()).vevent
    return vevent.dtstart.value, vevent.dtend.value


def _ics(data: bytes) -> Instants:
    (event,) = ics.Calendar(data.decode()).events
    return event.begin.datetime, event.end.datetime


PYTHON_PARSERS: dict[str, Callable[[bytes], Instants]] = {
    "icalendar": _icalendar,
    "vobject": _vobject,
    "ics": _ics,
}


@pytest.mark.parametrize("parser", PYTHON_PARSERS)
def test_python_calendar_parsers_read_the_expected_instants(
    calendar_files: dict[str, Path], parser: str
) -> None:
    read = {
        name: tuple(t.astimezone(UTC) for t in PYTHON_PARSERS[parser](path.read_bytes()))
        for name, path in calendar_files.items()
    }

    expected = {name: (start, end) for name, *_, start, end in CASES}
    assert read == expected


def test_ical_js_reads_the_expected_instants(calendar_files: dict[str, Path]) -> None:
    node_tool("ical.js")
    names = list(calendar_files)
    node = require(shutil.which("node"), "node", "apt-get install -y nodejs")
    script = CLIENTS_DIR / "ical_instants.mjs"
    command = [node, str(script), *(str(calendar_files[n]) for n in names)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert completed.returncode == 0, completed.stderr
    by_file = json.loads(completed.stdout)

    read = {
        name: tuple(datetime.fromisoformat(t) for t in by_file[str(calendar_files[name])])
        for name in names
    }

    expected = {name: (start, end) for name, *_, start, end in CASES}
    assert read == expected


def test_every_vtimezone_transition_has_its_own_rdate_line(
    calendar_files: dict[str, Path],
) -> None:
    for path in calendar_files.values():
        for line in path.read_text().replace("\r\n ", "").splitlines():
            if line.startswith("RDATE"):
                assert "," not in line, (path.name, line)
