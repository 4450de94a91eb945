"""What `afisha serve` sets up for speed: its listening socket and its garbage collector."""

from __future__ import annotations

import asyncio
import gc
import socket

from afisha_server import cli
from afisha_server.gc_tuning import GC_THRESHOLDS, tune_garbage_collector


async def test_accepted_connections_have_nagle_off_on_the_asyncio_loop() -> None:
    """asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP; ours must be one.

    Without it a response written in two pieces waits for the client's delayed ACK
    (about 40 ms on Linux) before its second piece leaves.
    """
    sock = cli._bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted: socket.socket = writer.get_extra_info("socket")
        nodelay.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accept, sock=sock)
    async with server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            assert await asyncio.wait_for(nodelay, 5) != 0
        finally:
            writer.close()


def test_the_collector_is_tuned_for_short_lived_objects() -> None:
    """Startup objects are frozen and young collections are rarer than by default."""
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > 700  # CPython's default
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
