"""Servers the fault tests own, so they can stop and start them at will.

The shared Redis, PostgreSQL and moto servers serve everybody's tests; stopping one
of them would break other runs. These helpers start a private one on a free port of
127.0.0.1 as a child process (or thread), stop it, and start it again on the same port.
When the program is missing the test is skipped, except under ``CI=true``, where it
fails: CI must run every fault test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.services import in_ci

__all__ = [
    "PostgresCluster",
    "RedisProcess",
    "free_port",
    "require_program",
    "wait_for_port",
]

HOST = "127.0.0.1"


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, up: bool = True, within: float = 15.0) -> None:
    """Wait until ``port`` accepts connections (or, with ``up=False``, refuses them)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} within {within} s")


def require_program(name: str, path: str | None) -> str:
    """``path`` when it exists; otherwise skip (or under CI fail) the calling test."""
    if path is not None and Path(path).exists():
        return path
    message = f"{name} is not installed; the fault test needs it"
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


class RedisProcess:
    """A private ``redis-server`` on a free port, without persistence."""

    def __init__(self) -> None:
        self.binary = require_program("redis-server", shutil.which("redis-server"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of the server."""
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        arguments = [self.binary, "--port", str(self.port), "--bind", HOST]
        arguments += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self._process = subprocess.Popen(  # noqa: S603 - our own arguments
            arguments,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None
        wait_for_port(self.port, up=False)


def _postgres_bin() -> Path | None:
    config = shutil.which("pg_config")
    if config is not None:
        found = subprocess.run(  # noqa: S603 - a fixed command
            [config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidate = Path(found.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


class PostgresCluster:
    """A private PostgreSQL cluster in ``directory`` on a free port, with trust auth.

    As root (PostgreSQL refuses to run as root) it runs as the ``postgres`` user.
    """

    def __init__(self, directory: Path) -> None:
        # ``directory`` and its parents must be reachable by the postgres user: give a
        # fresh folder of the system's temporary directory (not pytest's, which is 0700).
        bindir = _postgres_bin()
        self.bin = Path(require_program("PostgreSQL (initdb)", str(bindir) if bindir else None))
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = require_program("runuser", shutil.which("runuser"))
            self._as = [runuser, "-u", "postgres", "--"]

    @property
    def user(self) -> str:
        """The cluster's superuser (whoever ran initdb)."""
        return "postgres" if self._as else os.environ.get("USER", "postgres")

    @property
    def url(self) -> str:
        """A conninfo URL of the cluster's ``postgres`` database."""
        return f"postgresql://{self.user}@{HOST}:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - our own arguments
            [*self._as, *args], capture_output=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")

    def init(self) -> None:
        """Create the cluster (initdb) without starting it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as:
            self.directory.chmod(0o700)
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust",
            "--no-sync", "-U", self.user, "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c max_connections=30"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.directory / "log"), "-w", "start",
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: no checkpoint, clients cut off, as a crash)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        wait_for_port(self.port, up=False)

    def destroy(self) -> None:
        """Stop the server if it runs, and delete the cluster."""
        with contextlib.suppress(RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
