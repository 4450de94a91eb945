"""A real HTTP receiver for webhooks, on 127.0.0.1, verifying signatures independently.

A plain asyncio HTTP/1.1 server (one request per connection). Each request is checked
with the ``standardwebhooks`` package (the specification's published Python library),
not with our own code, and recorded. What it answers is scripted: ``ok`` (204),
``error`` (500), ``slow`` (answers after ``slow_seconds``), ``redirect`` (302 to a
private address), one behaviour per request from ``script``, then ``ok``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import attrs
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError


@attrs.define
class Received:
    """One request the receiver got: its headers, body and what the verifier said."""

    headers: dict[str, str]
    body: bytes
    verified: Any = None
    error: str | None = None


@attrs.define
class Receiver:
    """The receiver's state: the secret to verify with, the script, what arrived."""

    port: int = 0
    secret: str | None = None
    script: list[str] = attrs.Factory(list)
    received: list[Received] = attrs.Factory(list)
    slow_seconds: float = 5.0

    @property
    def url(self) -> str:
        """Where to send webhooks."""
        return f"http://127.0.0.1:{self.port}/hooks/afisha"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            got = Received(headers=headers, body=body)
            try:
                assert self.secret is not None
                got.verified = Verifier(self.secret).verify(body, headers)
            except (WebhookVerificationError, AssertionError, ValueError) as exc:
                got.error = f"{type(exc).__name__}: {exc}"
            self.received.append(got)
            behaviour = self.script.pop(0) if self.script else "ok"
            if behaviour == "slow":
                await asyncio.sleep(self.slow_seconds)
            status, extra = {
                "ok": ("204 No Content", ""),
                "error": ("500 Internal Server Error", ""),
                "slow": ("204 No Content", ""),
                "redirect": ("302 Found", "Location: http://169.254.169.254/latest/\r\n"),
            }[behaviour]
            tail = "Content-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(f"HTTP/1.1 {status}\r\n{extra}{tail}".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def webhook_receiver(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    """``receiver`` (a new one by default) running on 127.0.0.1, on its port or a free one."""
    receiver = receiver or Receiver()
    server = await asyncio.start_server(receiver._handle, "127.0.0.1", receiver.port)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
