"""Everything a real ``afisha`` process prints holds no credential, password, code or token.

The server runs on PostgreSQL and SMTP URLs that carry passwords; a full scenario
(registration with its code, a failed and a good login, recovery with its token)
runs over HTTP; then every line the process wrote is scanned for every secret used.
Configuration errors are checked the same way.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.support.process import afisha_serve, clean_env, run_afisha
from tests.support.services import require_postgres
from tests.support.smtp_server import SmtpTestServer, password_authenticator

DB_PASSWORD = "S3cretPW"
SMTP_PASSWORD = "Sm7pPass"
PASSWORD = "a long user passphrase"
NEW_PASSWORD = "another long passphrase"
CODE = re.compile(r"verification code is (\d{6})")
RECOVERY = re.compile(r"/password-recovery/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def schema() -> Iterator[str]:
    url = require_postgres()
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def database_url(schema: str) -> str:
    """The test database's URL with a password (trust auth ignores it) and a schema."""
    base = require_postgres().split("://", 1)[1].split("@", 1)[1]
    options = quote(f"-csearch_path={schema}")
    return f"postgresql://postgres:{DB_PASSWORD}@{base}?options={options}"


def wait_for_text(server: SmtpTestServer, address: str, pattern: re.Pattern[str]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for mail in reversed(server.received_emails()):
            if address in mail.to and (match := pattern.search(mail.text)):
                return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} matching {pattern.pattern}")


def test_a_full_scenario_prints_no_secret(tmp_path: Path, schema: str) -> None:
    with SmtpTestServer(
        authenticator=password_authenticator("mailer", SMTP_PASSWORD),
        auth_require_tls=False,
    ) as smtp:
        env = clean_env(
            AFISHA_DATABASE_URL=database_url(schema),
            AFISHA_SMTP_URL=f"smtp://mailer:{SMTP_PASSWORD}@{smtp.host}:{smtp.port}",
            AFISHA_SCHEDULER_INTERVAL="1s",
        )
        with (
            afisha_serve(tmp_path, env, log_level="DEBUG") as server,
            httpx.Client(base_url=server.base, timeout=10) as client,
        ):
            started = client.post(
                "/v1/registrations",
                json={"email": "ann@example.org", "username": "ann", "full_name": "Ann",
                      "password": PASSWORD},
            )  # fmt: skip
            assert started.status_code == 202, started.text
            registration = started.json()["registration_token"]
            code = wait_for_text(smtp, "ann@example.org", CODE)
            confirmed = client.post(
                f"/v1/registrations/{registration}/confirm", json={"code": code}
            )
            assert confirmed.status_code == 201, confirmed.text
            session = confirmed.json()["token"]
            failed = client.post("/v1/sessions", json={"login": "ann", "password": "wrong one!"})
            assert failed.status_code == 401, failed.text
            login = client.post("/v1/sessions", json={"login": "ann", "password": PASSWORD})
            assert login.status_code == 201, login.text
            client.post("/v1/password-recovery", json={"email": "ann@example.org"})
            recovery = wait_for_text(smtp, "ann@example.org", RECOVERY)
            done = client.post(f"/v1/password-recovery/{recovery}", json={"password": NEW_PASSWORD})
            assert done.status_code == 204, done.text
            client.get("/v1/users/me", headers={"Authorization": f"Bearer {session}"})
        output = server.output()

    assert "ann@example.org" in output or "GET" in output, "the process logged something"
    secrets = [DB_PASSWORD, SMTP_PASSWORD, PASSWORD, NEW_PASSWORD, registration, session,
               login.json()["token"], recovery]  # fmt: skip
    leaks = [secret[:4] + "..." for secret in secrets if secret in output]
    assert leaks == [], output
    assert not re.search(rf"\b{code}\b", output), "the verification code is in the output"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AFISHA_DATABASE_URL", f"mysql://root:{DB_PASSWORD}@db/afisha"),
        ("AFISHA_SMTP_URL", f"smtpx://mailer:{SMTP_PASSWORD}@mail:587"),
        ("AFISHA_REDIS_URL", f"http://default:{DB_PASSWORD}@redis:6379/0"),
    ],
)
def test_a_configuration_error_names_the_variable_without_the_password(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = run_afisha(tmp_path, clean_env(**{variable: value}), "migrate")

    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert variable in output
    assert DB_PASSWORD not in output
    assert SMTP_PASSWORD not in output
