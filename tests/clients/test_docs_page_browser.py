"""The docs page, opened in headless Chromium, renders every endpoint under a prefix.

The API is mounted under ``/afisha`` in a host app and served by a real uvicorn; the
page must load Swagger UI's files and the document from under the prefix (nothing
from another site) and show every operation and the "Authorize" button for the
bearer token. A screenshot is kept in the test's folder.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from afisha_starlette import Runtime, create_app
from tests.clients._server import reserve_socket, serve
from tests.clients._tools import chromium
from tests.support.world import World

PREFIX = "/afisha"


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(  # noqa: S603 - the machine's Chromium
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
             "--virtual-time-budget=15000", "--window-size=1280,2400", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


def test_the_docs_page_renders_every_endpoint_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium()
    sock = reserve_socket()
    host, port = sock.getsockname()
    base = f"http://{host}:{port}"
    api = create_app(Runtime(afisha=World().afisha), public_url=base)
    site = Starlette(routes=[Mount(PREFIX, app=api)])
    with serve(site, sock) as server:
        document = httpx.get(f"{server.url}{PREFIX}/openapi.json", timeout=10).json()
        page = f"{server.url}{PREFIX}/docs"
        dom = _chromium(browser, "--dump-dom", page)
        screenshot = tmp_path / "docs.png"
        shot = _chromium(browser, f"--screenshot={screenshot}", page)

    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "swagger-ui" in html
    assert "Failed to load API definition" not in html
    assert 'class="btn authorize' in html  # bearer login
    assert document["servers"] == [{"url": f"{base}{PREFIX}"}]
    shown = {path for path in document["paths"] if f'data-path="{path}"' in html}
    assert shown == set(document["paths"]), sorted(set(document["paths"]) - shown)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
