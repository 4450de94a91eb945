"""An asyncio HTTP/1.1 load driver that times every request (no sampling).

Each of ``connections`` keep-alive connections sends one request, reads the whole
response, records its latency and status, and sends the next, until ``max_requests``
have been sent in all, ``duration`` seconds have passed, or the request source has
nothing more for it. Responses are parsed just enough to be read completely
(``Content-Length`` or chunked), which keeps the driver's own cost per request at a
few tens of microseconds: on a two-core machine it shares the CPU with the server and
PostgreSQL, so it must be cheap. Only the loopback interface is allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence

import attrs

__all__ = [
    "LoadResult",
    "RequestSource",
    "constant",
    "cycle",
    "http_request",
    "percentile",
    "run_load",
]

#: Gives the encoded request that connection ``i`` sends as its ``n``-th (from 0), or
#: ``None`` when that connection has nothing more to send.
RequestSource = Callable[[int, int], bytes | None]


def http_request(
    method: str,
    path: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    host: str = "127.0.0.1",
) -> bytes:
    """One HTTP/1.1 keep-alive request, encoded."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: afisha-bench"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def constant(request: bytes) -> RequestSource:
    """Every connection sends ``request`` again and again."""
    return lambda _connection, _n: request


def cycle(requests: Sequence[bytes]) -> RequestSource:
    """Connection ``i`` goes round ``requests`` starting at its own offset."""
    count = len(requests)
    if not count:
        raise ValueError("cycle needs at least one request")
    return lambda connection, n: requests[(connection * 7919 + n) % count]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@attrs.define
class LoadResult:
    """Every request's latency (ms), the statuses, the errors and the wall time."""

    latencies_ms: list[float] = attrs.field(factory=list)
    statuses: Counter[int] = attrs.field(factory=Counter)
    errors: Counter[str] = attrs.field(factory=Counter)
    elapsed: float = 0.0
    _sorted: list[float] | None = attrs.field(default=None, init=False, repr=False)

    @property
    def completed(self) -> int:
        """Requests that got a whole response (of any status)."""
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        """Failed requests: unexpected statuses, broken connections and timeouts."""
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        """Completed requests per second of wall time."""
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    def p(self, fraction: float) -> float:
        """The latency percentile in milliseconds (``p(0.99)`` is p99)."""
        if self._sorted is None or len(self._sorted) != len(self.latencies_ms):
            self._sorted = sorted(self.latencies_ms)
        return percentile(self._sorted, fraction)


def _check_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"the load driver only targets the loopback interface, not {host!r}")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the server will close."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    start = lower.find(b"\r\ncontent-length:")
    if start >= 0:
        start += 17
        length = int(lower[start : lower.index(b"\r\n", start)])
        if length:
            await reader.readexactly(length)
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, b"\r\nconnection: close" in lower


async def run_load(
    host: str,
    port: int,
    source: RequestSource,
    *,
    connections: int,
    max_requests: int,
    duration: float,
    expected: Collection[int] = (200,),
    request_timeout: float = 30.0,
) -> LoadResult:
    """Run the load and return every latency; never more than the two bounds.

    A response whose status is not in ``expected`` counts as an error (``"HTTP 500"``)
    but its latency is kept; a broken connection or a request slower than ``request_timeout``
    seconds counts as an error and the connection is opened again.
    """
    _check_loopback(host)
    if connections < 1 or max_requests < 1 or duration <= 0:
        raise ValueError("connections, max_requests and duration must be positive")
    result = LoadResult()
    issued = 0
    started = time.perf_counter()
    deadline = started + duration
    expected_set = frozenset(expected)

    async def one_connection(index: int) -> None:
        nonlocal issued
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        n = 0
        try:
            while issued < max_requests and time.perf_counter() < deadline:
                request = source(index, n)
                if request is None:
                    return
                n += 1
                issued += 1
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sent = time.perf_counter()
                try:
                    async with asyncio.timeout(request_timeout):
                        writer.write(request)
                        status, closing = await _read_response(reader)
                except (
                    OSError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    TimeoutError,
                    ValueError,
                ) as exc:
                    result.errors[type(exc).__name__] += 1
                    writer.close()
                    reader = writer = None
                    continue
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
                result.statuses[status] += 1
                if status not in expected_set:
                    result.errors[f"HTTP {status}"] += 1
                if closing:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(one_connection(i) for i in range(connections)))
    result.elapsed = time.perf_counter() - started
    return result
