"""`afisha serve` as a real process with no configuration: it answers, mails, and persists."""

from __future__ import annotations

import email
import email.policy
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.process import clean_env, free_port

STARTUP_TIMEOUT = 20.0
MAIL_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
PASSWORD = "a real server secret"
CODE = re.compile(r"verification code is (\d{6})")
COMMAND = [sys.executable, "-m", "afisha_server.cli"]


def output_of(directory: Path) -> str:
    """What the server printed so far."""
    return "\n".join(
        path.read_text(errors="replace") for path in sorted(directory.glob("server-*.log"))
    )


@contextmanager
def running_server(cwd: Path, run: int) -> Iterator[str]:
    """Start ``afisha serve`` in ``cwd``, wait for /healthz, yield its URL, stop it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (cwd / f"server-{run}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*COMMAND, "serve", "--port", str(port)],
        cwd=cwd,
        env=clean_env(AFISHA_SCHEDULER_INTERVAL="1s"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"afisha serve exited with {process.returncode}:\n{output_of(cwd)}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"afisha serve did not answer /healthz in time:\n{output_of(cwd)}")
            time.sleep(0.1)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def wait_for_code(outbox: Path, address: str) -> str:
    """Wait for the .eml file mailed to ``address`` and read the verification code in it."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address not in str(message["To"]):
                continue
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            if match := CODE.search(body.get_content()):
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no .eml with a code for {address} under {outbox}")


def test_the_embedded_server_registers_and_keeps_its_data_across_restarts(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, 1) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert f"{base}/docs" in output_of(tmp_path)
        assert client.get("/readyz").status_code == 200
        started = client.post(
            "/v1/registrations",
            json={
                "email": "real@example.org",
                "username": "real",
                "full_name": "Real Person",
                "password": PASSWORD,
            },
        )
        assert started.status_code == 202, started.text
        code = wait_for_code(tmp_path / "afisha-data" / "outbox", "real@example.org")
        confirmed = client.post(
            f"/v1/registrations/{started.json()['registration_token']}/confirm",
            json={"code": code},
        )
        assert confirmed.status_code == 201, confirmed.text
        user_id = confirmed.json()["user"]["id"]
        logged_in = client.post("/v1/sessions", json={"login": "real", "password": PASSWORD})
        assert logged_in.status_code == 201, logged_in.text
        token = logged_in.json()["token"]

    assert (tmp_path / "afisha-data" / "afisha.db").is_file()

    with running_server(tmp_path, 2) as base, httpx.Client(base_url=base, timeout=10) as client:
        again = client.post(
            "/v1/sessions", json={"login": "real@example.org", "password": PASSWORD}
        )
        assert again.status_code == 201, again.text
        assert again.json()["user"]["id"] == user_id
        old_session = client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert old_session.status_code == 200
        assert old_session.json()["id"] == user_id


def test_an_absurd_capacity_is_refused_by_the_real_server(tmp_path: Path) -> None:
    created = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*COMMAND, "create-admin", "--email", "boss@example.org", "--username", "boss",
         "--password-stdin"],
        cwd=tmp_path,
        env=clean_env(),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    with running_server(tmp_path, 1) as base, httpx.Client(base_url=base, timeout=10) as client:
        login = client.post("/v1/sessions", json={"login": "boss", "password": PASSWORD})
        assert login.status_code == 201, login.text
        headers = {"Authorization": f"Bearer {login.json()['token']}"}

        response = client.post(
            "/v1/events",
            json={"name": "Huge", "starts_at": "2031-01-01T10:00:00+00:00",
                  "ends_at": "2031-01-01T12:00:00+00:00", "max_participants_count": 10**30},
            headers=headers,
        )  # fmt: skip

        assert response.status_code in (201, 422), response.text
        assert client.get("/v1/events").status_code == 200


def run_command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``afisha`` command to completion in a clean environment."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [*COMMAND, *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )


def test_help_explains_every_command() -> None:
    result = run_command("--help")

    assert result.returncode == 0, result.stderr
    for command in ("serve", "worker", "migrate", "create-admin"):
        line = next(
            (ln for ln in result.stdout.splitlines() if ln.strip().startswith(command + " ")),
            None,
        )
        assert line is not None, (command, result.stdout)
        assert len(line.split()) > 2, line
    assert "AFISHA_DATABASE_URL" in result.stdout


def test_serve_help_explains_its_options() -> None:
    result = run_command("serve", "--help")

    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--no-scheduler", "--workers"):
        assert option in result.stdout


def test_an_invalid_variable_stops_serve_with_a_message_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*COMMAND, "serve", "--port", str(free_port()), "--no-scheduler"],
        cwd=tmp_path,
        env=clean_env(AFISHA_REMINDER_LEAD="soon"),
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )

    assert result.returncode != 0
    assert "AFISHA_REMINDER_LEAD" in result.stderr + result.stdout
