"""An ASGI app served by a real uvicorn on 127.0.0.1, in a thread of the test process.

Clients that need a real socket (a generated synchronous client, a browser) talk to
it; the test reaches the app's world on the server's own event loop with :meth:`run`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import attrs
import uvicorn
from starlette.types import ASGIApp

__all__ = ["LiveServer", "reserve_socket", "serve"]

T = TypeVar("T")
START_TIMEOUT = 15.0


def reserve_socket() -> socket.socket:
    """A listening-ready TCP socket bound to a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@attrs.frozen
class LiveServer:
    """A running server: its base URL and its event loop."""

    url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` on the server's loop (where its world lives); return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextmanager
def serve(app: ASGIApp, sock: socket.socket) -> Iterator[LiveServer]:
    """Serve ``app`` on ``sock`` until the block ends."""
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True
    )
    thread.start()
    try:
        for _ in range(int(START_TIMEOUT / 0.05)):
            if server.started:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("uvicorn did not start in time")
        yield LiveServer(url=f"http://{host}:{port}", loop=loop)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        loop.close()
        sock.close()
