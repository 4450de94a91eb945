"""The servers under test as real uvicorn processes, and CPU accounting from ``/proc``.

``afisha serve --no-scheduler`` runs on the production adapters: PostgreSQL, Redis for
rate limits, in-memory object storage, ``.eml`` mail in a temporary folder, logging at
WARNING. The baseline runs under the same uvicorn settings, and is told to use uvloop
and httptools when they are installed (asyncio and h11 otherwise). Either may serve
from several worker processes (uvicorn's ``Multiprocess`` supervisor on one listening
socket): CPU is then summed over the whole process tree, and a server counts as started
once every worker watches the listening socket.

Which event loop and HTTP parser a server really runs is read from its processes'
memory maps (:meth:`Server.stack`): uvloop and httptools are compiled extensions, so
a process that loaded them shows their ``.so`` files; asyncio and h11 are pure Python.
"""

from __future__ import annotations

import importlib.util
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
    "available_stack",
    "baseline_server",
    "cpu_seconds",
    "free_port",
    "postgres_cpu_seconds",
    "serving_processes",
    "tree_cpu_seconds",
]

#: The Redis the server's rate limiter uses (a database of its own).
REDIS_URL = os.environ.get("AFISHA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
STARTUP_TIMEOUT = 60.0
_TICK = os.sysconf("SC_CLK_TCK")


@attrs.frozen
class Server:
    """A running server: where it listens, its (supervisor) process and its workers."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    workers: int = 1

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far: every thread of every process of its tree."""
        return tree_cpu_seconds(self.process.pid)

    def stack(self) -> str:
        """``loop+parser`` its serving processes loaded, e.g. ``uvloop+httptools``.

        Several different stacks (which should not happen) are joined with ``/``.
        """
        stacks = sorted({_stack_of(pid) for pid in serving_processes(self.process.pid, self.port)})
        return "/".join(stacks) or "unknown"


def available_stack() -> str:
    """What this interpreter could run: ``uvloop`` or ``asyncio``, ``httptools`` or ``h11``."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop}+{http}"


def _stack_of(pid: int) -> str:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "unknown"
    loop = "uvloop" if "/uvloop/" in maps else "asyncio"
    http = "httptools" if "/httptools/" in maps else "h11"
    return f"{loop}+{http}"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` (0 when it is gone)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _TICK


def _tree(root: int) -> list[int]:
    """``root`` and every process descending from it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and all its descendants, those that ended included.

    Each live process counts its own time plus that of its children that have ended
    and been waited for (``cutime``/``cstime``), so a worker that exits between two
    readings moves its time to its parent instead of losing it.
    """
    total = 0
    for pid in _tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            total += sum(int(f) for f in fields[11:15])
    return total / _TICK


def _listening_inode(port: int) -> str | None:
    """The socket inode of whoever listens on TCP ``port`` (IPv4 or IPv6)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].endswith(wanted) and fields[3] == "0A":  # 0A: LISTEN
                return fields[9]
    return None


def _watches(pid: int, inode: str) -> bool:
    """Whether process ``pid``'s event loop polls the socket ``inode`` (its epoll set)."""
    target = f"socket:[{inode}]"
    fds: set[str] = set()
    polls: list[str] = []
    try:
        for entry in os.scandir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(entry.path)
            except OSError:
                continue
            if link == target:
                fds.add(entry.name)
            elif link == "anon_inode:[eventpoll]":
                polls.append(entry.name)
        for fd in polls:
            for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                parts = line.split()
                if parts[:1] == ["tfd:"] and parts[1] in fds:
                    return True
    except OSError:
        return False
    return False


def serving_processes(root: int, port: int) -> list[int]:
    """The processes of ``root``'s tree whose event loop accepts on ``port`` now."""
    inode = _listening_inode(port)
    if inode is None:
        return []
    return [pid for pid in _tree(root) if _watches(pid, inode)]


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


def _wait_healthy(
    name: str, process: subprocess.Popen[bytes], port: int, log: Path, workers: int
) -> None:
    """Wait for ``/healthz`` to answer 200, then for ``workers`` processes to accept."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    url = f"http://127.0.0.1:{port}/healthz"
    healthy = False
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        if not healthy:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    healthy = response.status == 200
            except (urllib.error.URLError, OSError):
                pass
        # One worker answering is not enough: the others may still be starting, and
        # until they accept, the kernel hands every connection to the first one.
        if healthy and (workers == 1 or len(serving_processes(process.pid, port)) >= workers):
            return
        if time.monotonic() > deadline:
            what = "answer " + url if not healthy else f"start {workers} workers"
            raise RuntimeError(f"{name} did not {what} in time:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def _process(
    name: str, command: list[str], env: Mapping[str, str], port: int, workers: int = 1
) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix=f"afisha-bench-{name}-") as tmp:
        log = Path(tmp, "server.log")
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                command,
                cwd=tmp,
                env={**env, "AFISHA_DATA_DIR": tmp},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own: workers included in a kill
            )
        try:
            _wait_healthy(name, process, port, log, workers)
            yield Server(
                name=name, host="127.0.0.1", port=port, process=process, log=log, workers=workers
            )
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


_ROOT = Path(__file__).resolve().parents[1]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFISHA_", "BENCH_"))}
    # The servers run in a temporary folder; the repository must stay importable.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def afisha_server(
    database_url: str, *, redis_url: str = REDIS_URL, pool_size: int = 10, workers: int = 1
) -> Iterator[Server]:
    """``afisha serve --no-scheduler [--workers N]`` on the production adapters.

    The server runs until the block ends. ``pool_size`` is per worker process.
    """
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
        "--workers",
        str(workers),
    ]
    with _process("afisha", command, env, port, workers) as server:
        yield server


@contextmanager
def baseline_server(
    database_url: str,
    *,
    pool_size: int = 10,
    span_bound: bool = False,
    hash_threads: int = 0,
    workers: int = 1,
) -> Iterator[Server]:
    """The bare Starlette baseline of :mod:`benchmarks.baseline_app`, until the block ends.

    ``pool_size`` is per worker process, as for :func:`afisha_server`.
    """
    port = free_port()
    env = _clean_env() | {
        "BENCH_DATABASE_URL": database_url,
        "BENCH_POOL_SIZE": str(pool_size),
        "BENCH_SPAN_BOUND": "1" if span_bound else "",
        "BENCH_HASH_THREADS": str(hash_threads),
    }
    command = [
        sys.executable,
        "-m",
        "benchmarks.baseline_app",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with _process("baseline", command, env, port, workers) as server:
        yield server
