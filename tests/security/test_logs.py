"""Logs are read by more people, and kept longer, than the database: no secret goes there.

A flow with every kind of secret (passwords, session, registration and recovery
tokens, verification codes) runs through HTTP with every logger at DEBUG; then every
record, its message and every extra attribute, is scanned for them.
"""

from __future__ import annotations

import logging
import re

import pytest

from tests.security._stack import PASSWORD, Stack

NEW_PASSWORD = "a fresh secret 42"


async def flow(stack: Stack) -> list[str]:
    """Register, fail and succeed at logging in, recover; return every secret used."""
    client = stack.client
    started = await client.post(
        "/v1/registrations",
        json={"email": "ann@example.org", "username": "ann", "full_name": "Ann",
              "password": PASSWORD},
    )  # fmt: skip
    registration = started.json()["registration_token"]
    code = await stack.code_for("ann@example.org")
    await client.post(f"/v1/registrations/{registration}/confirm", json={"code": "000001"})
    confirmed = await client.post(f"/v1/registrations/{registration}/confirm", json={"code": code})
    session = confirmed.json()["token"]
    await client.post("/v1/sessions", json={"login": "ann", "password": "not it at all"})
    await client.post("/v1/password-recovery", json={"email": "ann@example.org"})
    recovery = await stack.recovery_token_for("ann@example.org")
    await client.get(f"/password-recovery/{recovery}")
    await client.post(f"/v1/password-recovery/{recovery}", json={"password": NEW_PASSWORD})
    await client.get("/v1/users/me", headers={"Authorization": f"Bearer {session}"})
    return [PASSWORD, NEW_PASSWORD, "not it at all", registration, session, recovery, code]


#: The test's own HTTP client logs the URLs it calls; that is not the server's log.
CLIENT_LOGGERS = ("httpx", "httpcore")


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]


def texts(record: logging.LogRecord) -> list[str]:
    """The rendered message and every attribute of a record, as text."""
    return [record.getMessage(), *(str(value) for value in vars(record).values())]


async def test_no_secret_reaches_the_logs(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    secrets = await flow(stack)

    leaks = [
        (record.name, secret[:6] + "...")
        for record in server_records(caplog)
        for secret in secrets
        for text in texts(record)
        if (re.search(rf"\b{secret}\b", text) if secret.isdigit() else secret in text)
    ]
    assert leaks == []


async def test_the_log_holds_no_password_and_no_session_token(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    secrets = await flow(stack)

    passwords_and_session = [secrets[0], secrets[1], secrets[2], secrets[4]]
    records = server_records(caplog)
    everything = "\n".join(t for record in records for t in texts(record))
    assert records, "the flow logs something"
    for secret in passwords_and_session:
        assert secret not in everything
