"""The ``afisha`` command as a real process: start it, wait until it answers, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import httpx
import pytest

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
