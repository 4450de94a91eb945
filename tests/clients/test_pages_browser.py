"""The pages for people, opened in headless Chromium, in Russian and in English.

A real uvicorn serves the app; Chromium (no JavaScript needed by the pages) renders the
front page and an event's page in both languages, and a screenshot of each is kept in the
test's folder.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from afisha_core import EventDraft
from afisha_starlette import Runtime, create_app
from tests.clients._server import reserve_socket, serve
from tests.clients._tools import chromium
from tests.support.world import World


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(  # noqa: S603 - the machine's Chromium
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
             "--disable-javascript", "--window-size=1000,900", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


async def _publish(world: World) -> str:
    admin = await world.admin()
    starts_at = world.clock.now() + timedelta(days=3)
    view = await world.afisha.events.create(
        admin,
        EventDraft(
            name="Джазовый вечер",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            timezone="Europe/Moscow",
            location="Клуб «Синяя птица»",
            max_participants_count=3,
        ),
    )
    return str(view.event.id)


@pytest.mark.parametrize(
    ("lang", "home_title", "event_texts"),
    [
        ("ru", "Afisha: ближайшие мероприятия", ["Свободные места", "осталось 3 места из 3"]),
        ("en", "Afisha: upcoming events", ["Spots left", "3 spots left of 3"]),
    ],
)
def test_the_pages_render_in_headless_chromium(
    tmp_path: Path, lang: str, home_title: str, event_texts: list[str]
) -> None:
    browser = chromium()
    world = World()
    event_id = asyncio.run(_publish(world))
    sock = reserve_socket()
    app = create_app(Runtime(afisha=world.afisha))
    with serve(app, sock) as server:
        home = f"{server.url}/?lang={lang}"
        event = f"{server.url}/events/{event_id}?lang={lang}"
        home_dom = _chromium(browser, "--dump-dom", home)
        event_dom = _chromium(browser, "--dump-dom", event)
        shots = {}
        for name, url in (("home", home), ("event", event)):
            shots[name] = tmp_path / f"{name}-{lang}.png"
            done = _chromium(browser, f"--screenshot={shots[name]}", url)
            assert done.returncode == 0, done.stderr[-2000:]

    assert home_dom.returncode == 0, home_dom.stderr[-2000:]
    assert home_title in home_dom.stdout
    assert f'href="/events/{event_id}"' in home_dom.stdout
    assert "Джазовый вечер" in event_dom.stdout
    for text in event_texts:
        assert text in event_dom.stdout
    assert f'<html lang="{lang}">' in event_dom.stdout
    for shot in shots.values():
        assert shot.stat().st_size > 5_000  # a rendered page, not a blank one
