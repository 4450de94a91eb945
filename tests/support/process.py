"""The ``afisha`` command as a real process: start it, wait until it answers, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import attrs
import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tests.support.services import require_postgres

COMMAND = [sys.executable, "-m", "afisha_server.cli"]
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any ``AFISHA_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFISHA_", "OTEL_"))}
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fresh_postgres_database(prefix: str = "afisha_proc") -> Iterator[str]:
    """A new, empty PostgreSQL database for a process to use; its URL. Dropped after."""
    admin = require_postgres()  # CREATE and DROP DATABASE run from the test database
    server = conninfo_to_dict(admin)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    user = quote(str(server.get("user") or "postgres"), safe="")
    password = f":{quote(str(server['password']), safe='')}" if server.get("password") else ""
    host = server.get("host") or "127.0.0.1"
    port = server.get("port") or 5432
    try:
        yield f"postgresql://{user}{password}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@attrs.define
class Running:
    """A started ``afisha`` process: its base URL, its output file, the process."""

    base: str
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr together)."""
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Ask the process to stop and wait for it; return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def afisha_serve(
    cwd: Path,
    env: dict[str, str],
    *args: str,
    port: int | None = None,
    name: str = "server",
    log_level: str = "INFO",
) -> Iterator[Running]:
    """Run ``afisha serve --port P *args`` in ``cwd`` until ``/healthz`` answers; stop it after."""
    port = port or free_port()
    log_path = cwd / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*COMMAND, "--log-level", log_level, "serve", "--port", str(port), *args],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running = Running(base=f"http://127.0.0.1:{port}", log=log_path, process=process)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    pytest.fail(
                        f"afisha serve exited with {process.returncode}:\n{running.output()}"
                    )
                try:
                    if httpx.get(f"{running.base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"afisha serve did not answer in time:\n{running.output()}")
                time.sleep(0.1)
            yield running
        finally:
            running.stop()


def run_afisha(
    cwd: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run an ``afisha`` command to completion; its output is returned, not checked."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [*COMMAND, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )
