"""afisha_server.asgi mounted under a prefix: in a host app (Mount) and behind a proxy
that strips the prefix (uvicorn --root-path). The docs page, the OpenAPI servers, the
recovery page, picture URLs and the links in emails all carry the prefix."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from afisha_server.asgi import create_app
from afisha_server.config import ServerConfig
from tests.support.process import clean_env

BASE = "http://127.0.0.1:8000"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _links(outbox: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        if body is not None:
            found += re.findall(r"https?://\S+", body.get_content())
    return found


async def test_the_server_app_mounted_in_a_host_app_carries_the_prefix(tmp_path: Path) -> None:
    config = ServerConfig(
        database_url=f"sqlite:///{tmp_path}/afisha.db",
        storage_url=f"file://{tmp_path}/media",
        data_dir=str(tmp_path),
        public_url=f"{BASE}/afisha",
    )
    api = create_app(config, scheduler=True)

    async def home(_request: object) -> PlainTextResponse:
        return PlainTextResponse("the host's own page")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # A mounted app gets no lifespan of its own: the host runs it in its own.
        async with api.router.lifespan_context(api):
            yield

    host = Starlette(routes=[Route("/", home), Mount("/afisha", app=api)], lifespan=lifespan)
    transport = httpx.ASGITransport(app=host)
    async with (
        lifespan(host),
        httpx.AsyncClient(transport=transport, base_url=BASE) as client,
    ):
        assert (await client.get("/")).text == "the host's own page"
        docs = await client.get("/afisha/docs")
        assert docs.status_code == 200
        assert "/afisha/" in docs.text  # its assets and document under the prefix
        spec = (await client.get("/afisha/openapi.json")).json()
        assert spec["servers"][0]["url"] == f"{BASE}/afisha"

        registered = await client.post(
            "/afisha/v1/registrations",
            json={"email": "ann@example.org", "username": "ann", "full_name": "Ann",
                  "password": "a mounted passphrase"},
        )  # fmt: skip
        assert registered.status_code == 202, registered.text
        asked = await client.post("/afisha/v1/password-recovery", json={"email": "x@example.org"})
        assert asked.status_code == 202
        page = await client.get("/afisha/password-recovery/some-token")
        assert '<form method="post">' in page.text  # posts to its own (prefixed) URL

    # Mail went out through the in-process scheduler; every link in it carries /afisha.
    links = _links(tmp_path / "outbox")
    assert links
    assert all(link.rstrip("/.") == f"{BASE}/afisha" or link.startswith(f"{BASE}/afisha/")
               for link in links), links  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_behind_a_proxy_that_strips_the_prefix_root_path_is_enough(tmp_path: Path) -> None:
    port = _free_port()
    env = clean_env(
        AFISHA_DATABASE_URL=f"sqlite:///{tmp_path}/afisha.db",
        AFISHA_DATA_DIR=str(tmp_path),
        AFISHA_PUBLIC_URL=f"http://127.0.0.1:{port}/afisha",
    )
    log = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - this interpreter running uvicorn
        [sys.executable, "-m", "uvicorn", "afisha_server.asgi:create_app", "--factory",
         "--port", str(port), "--root-path", "/afisha"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            with suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        # The proxy took /afisha off the path: the app answers at the root...
        docs = httpx.get(f"{base}/docs", timeout=5)
        spec = httpx.get(f"{base}/openapi.json", timeout=5).json()
        # ...and still builds every URL a browser follows with the prefix.
        assert docs.status_code == 200
        assert "/afisha/" in docs.text
        assert spec["servers"][0]["url"] == f"{base}/afisha"
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
