"""The servers under test as real uvicorn processes, and CPU accounting from ``/proc``.

``afisha serve --no-scheduler`` runs on the production adapters: PostgreSQL, Redis for
rate limits, in-memory object storage, ``.eml`` mail in a temporary folder, logging at
WARNING. The baseline runs under the same uvicorn settings (one process; whatever
event loop and HTTP parser uvicorn picks on this machine, for both).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import attrs

__all__ = [
    "REDIS_URL",
    "PostgresCpu",
    "Server",
    "afisha_server",
    "baseline_server",
    "cpu_seconds",
    "free_port",
    "postgres_cpu_seconds",
]

#: The Redis the server's rate limiter uses (a database of its own).
REDIS_URL = os.environ.get("AFISHA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
STARTUP_TIMEOUT = 60.0
_TICK = os.sysconf("SC_CLK_TCK")


@attrs.frozen
class Server:
    """A running server: where it listens and its process."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (all its threads)."""
        return cpu_seconds(self.process.pid)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by every process named ``postgres`` on this machine.

    Backends that ended in between are not counted, which is why the scenarios keep
    their pools open while they measure (or use :class:`PostgresCpu`).
    """
    return sum(_postgres_processes().values())


class PostgresCpu:
    """PostgreSQL's CPU time over a stretch during which backends come and go.

    Call :meth:`sample` every so often; a backend's time counts up to its last sample.
    """

    def __init__(self) -> None:
        self._start = _postgres_processes()
        self._last = dict(self._start)

    def sample(self) -> None:
        """Record every PostgreSQL process's CPU time now."""
        self._last.update(_postgres_processes())

    def seconds(self) -> float:
        """CPU seconds used since this object was made (as of the last sample)."""
        self.sample()
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._last.items())


def _postgres_processes() -> dict[int, float]:
    found: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] == "postgres":
            fields = stat[stat.rindex(")") + 2 :].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _wait_healthy(name: str, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    url = f"http://127.0.0.1:{port}/healthz"
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not answer {url} in time:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def _process(name: str, command: list[str], env: Mapping[str, str], port: int) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix=f"afisha-bench-{name}-") as tmp:
        log = Path(tmp, "server.log")
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                command,
                cwd=tmp,
                env={**env, "AFISHA_DATA_DIR": tmp},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_healthy(name, process, port, log)
            yield Server(name=name, host="127.0.0.1", port=port, process=process, log=log)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


_ROOT = Path(__file__).resolve().parents[1]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFISHA_", "BENCH_"))}
    # The servers run in a temporary folder; the repository must stay importable.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def afisha_server(
    database_url: str, *, redis_url: str = REDIS_URL, pool_size: int = 10
) -> Iterator[Server]:
    """``afisha serve --no-scheduler`` on the production adapters, until the block ends."""
    port = free_port()
    env = _clean_env() | {
        "AFISHA_DATABASE_URL": database_url,
        "AFISHA_REDIS_URL": redis_url,
        "AFISHA_STORAGE_URL": "memory://",
        "AFISHA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AFISHA_DB_POOL_SIZE": str(pool_size),
    }
    command = [
        sys.executable,
        "-m",
        "afisha_server.cli",
        "--log-level",
        "WARNING",
        "serve",
        "--no-scheduler",
        "--port",
        str(port),
    ]
    with _process("afisha", command, env, port) as server:
        yield server


@contextmanager
def baseline_server(
    database_url: str, *, pool_size: int = 10, span_bound: bool = False, hash_threads: int = 0
) -> Iterator[Server]:
    """The bare Starlette baseline of :mod:`benchmarks.baseline_app`, until the block ends."""
    port = free_port()
    env = _clean_env() | {
        "BENCH_DATABASE_URL": database_url,
        "BENCH_POOL_SIZE": str(pool_size),
        "BENCH_SPAN_BOUND": "1" if span_bound else "",
        "BENCH_HASH_THREADS": str(hash_threads),
    }
    command = [sys.executable, "-m", "benchmarks.baseline_app", "--port", str(port)]
    with _process("baseline", command, env, port) as server:
        yield server
