"""The S3 endpoint goes down during picture uploads, and comes back.

The app stores pictures through :class:`~afisha_obstore.ObstoreStorage` on a private
moto server (the shared one serves other tests), which this test stops and starts
again on the same port. While it is down an upload answers 503 with ``Retry-After``,
the event keeps its picture, ``/readyz`` names the storage, and the bucket gains no
stray object; once it is back, uploads work without a restart of the app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import obstore
import pytest
from moto.server import ThreadedMotoServer
from obstore.store import S3Store

from afisha_obstore import ObstoreStorage
from tests.faults._servers import free_port, wait_for_port
from tests.security._stack import Account, Stack, open_sqlite_stack
from tests.support.s3_server import (
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    REGION,
    S3Server,
    aws_credentials_fixture,
)

__all__ = ["aws_credentials_fixture"]  # a fixture this module uses

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(24)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(24)


class MotoProcess:
    """A private moto S3 server on a fixed port, stoppable and restartable.

    moto keeps its buckets in this process's memory, so they outlive a restart.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        wait_for_port(self.port, up=False)


@pytest.fixture
def moto() -> Iterator[MotoProcess]:
    """A private moto server, started."""
    server = MotoProcess()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bucket(moto: MotoProcess, aws_credentials: None) -> str:
    """A new bucket on the private server (fake credentials in the environment)."""
    return S3Server(endpoint=moto.endpoint).create_bucket()


@pytest.fixture
async def stack(tmp_path: Path, moto: MotoProcess, bucket: str) -> AsyncIterator[Stack]:
    """The app on SQLite, storing pictures in ``bucket``; no retries, short timeouts."""
    storage = ObstoreStorage.from_url(
        f"s3://{bucket}?endpoint={moto.endpoint}&region={REGION}&allow_http=true"
        f"&public_url={moto.endpoint}/{bucket}"
        "&max_retries=0&retry_timeout=1s&connect_timeout=1s&timeout=3s"
    )
    async with open_sqlite_stack(
        tmp_path / "afisha.db", storage=storage, checks={"storage": storage.ping}
    ) as opened:
        yield opened


async def keys(moto: MotoProcess, bucket: str) -> list[str]:
    """Every key in the bucket, read with a client of its own."""
    store = S3Store(
        bucket,
        endpoint=moto.endpoint,
        region=REGION,
        access_key_id=FAKE_ACCESS_KEY_ID,
        secret_access_key=FAKE_SECRET_ACCESS_KEY,
        client_options={"allow_http": True},
    )
    return sorted(meta["path"] for batch in obstore.list(store) for meta in batch)


async def upload(stack: Stack, admin: Account, event_id: str, data: bytes, media: str) -> int:
    response = await stack.client.put(
        f"/v1/events/{event_id}/image",
        content=data,
        headers={**admin.headers, "Content-Type": media},
    )
    if response.status_code == 503:
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["retry-after"]) >= 1
    return response.status_code


async def test_an_upload_while_s3_is_down_is_503_and_keeps_the_old_picture(
    stack: Stack, moto: MotoProcess, bucket: str
) -> None:
    admin = await stack.admin()
    event = await stack.create_event(admin)
    eid = event["id"]
    assert await upload(stack, admin, eid, PNG, "image/png") == 200
    first = (await stack.client.get(f"/v1/events/{eid}")).json()["image_url"]
    stored = await keys(moto, bucket)
    assert len(stored) == 1
    assert first.endswith(stored[0])

    moto.stop()

    assert await upload(stack, admin, eid, JPEG, "image/jpeg") == 503
    after = await stack.client.get(f"/v1/events/{eid}")
    assert after.status_code == 200
    assert after.json()["image_url"] == first
    ready = await stack.client.get("/readyz")
    assert ready.status_code == 503
    assert "storage" in ready.text
    assert (await stack.client.get("/v1/events")).status_code == 200

    moto.start()

    assert await keys(moto, bucket) == stored
    assert (await stack.client.get("/readyz")).status_code == 200
    assert await upload(stack, admin, eid, JPEG, "image/jpeg") == 200
    second = (await stack.client.get(f"/v1/events/{eid}")).json()["image_url"]
    assert second != first
    now_stored = await keys(moto, bucket)
    assert len(now_stored) == 1
    assert second.endswith(now_stored[0])
    assert now_stored[0].endswith(".jpg")
