"""The deployment of docker-compose.yml, run without Docker, with the same commands and values.

The commands come from the compose file (``afisha migrate``, ``afisha serve --host ...
--no-scheduler``, ``afisha worker``) and the configuration from .env.example, with each
compose service's address replaced by a local server: a fresh PostgreSQL database
(created for the test and dropped after it), the test Redis, moto's S3 server for MinIO
and an aiosmtpd server for mailpit. Each command runs as its own process, as in its own
container. Only the scheduler interval is shortened (1 s instead of 30 s) so that the
worker's first ticks come quickly.

A registration made through the API must be mailed by the worker (the API runs no
scheduler), a picture must land in the bucket and be readable at its ``image_url``,
``/readyz`` must name every backing service as ready, and both processes must stop
cleanly on SIGTERM, as ``docker compose stop`` sends it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from tests.deploy.project_files import compose, read_env_file
from tests.support.process import free_port, fresh_postgres_database
from tests.support.s3_server import S3Server, shared_s3_server
from tests.support.services import require_redis
from tests.support.smtp_server import SmtpTestServer

AFISHA = [sys.executable, "-m", "afisha_server.cli"]
STARTUP_TIMEOUT = 20.0
MAIL_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
PASSWORD = "a deployment passphrase"
ADMIN_PASSWORD = "the administrator's passphrase"
CODE = re.compile(r"verification code is (\d{6})")
# The smallest valid PNG: a 1x1 transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000185d114090000000049454e44ae426082"
)


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


# --- the local stand-ins of the compose services ----------------------------------------


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh PostgreSQL database, as the postgres service starts empty; dropped after."""
    with fresh_postgres_database("afisha_deploy") as url:
        yield url


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with shared_s3_server() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


def _replace_storage(url: str, *, bucket: str, endpoint: str) -> str:
    """The compose storage URL with MinIO's bucket and addresses replaced."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    assert urlsplit(params["endpoint"]).hostname == "minio"
    params["endpoint"] = endpoint
    if "public_url" in params:
        params["public_url"] = f"{endpoint}/{bucket}"
    return urlunsplit(parts._replace(netloc=bucket, query=urlencode(params)))


def local_environment(
    *,
    database_url: str,
    redis_url: str,
    s3: S3Server,
    bucket: str,
    smtp_port: int,
    api_port: int,
    data_dir: Path,
) -> dict[str, str]:
    """.env.example with each compose service's address replaced by the local server's."""
    example = read_env_file()
    env = {k: v for k, v in example.items() if k.startswith(("AFISHA_", "AWS_"))}

    assert urlsplit(env["AFISHA_DATABASE_URL"]).hostname == "postgres"
    env["AFISHA_DATABASE_URL"] = database_url
    assert urlsplit(env["AFISHA_REDIS_URL"]).hostname == "redis"
    env["AFISHA_REDIS_URL"] = redis_url
    mail = urlsplit(env["AFISHA_SMTP_URL"])
    assert mail.hostname == "mailpit"
    env["AFISHA_SMTP_URL"] = urlunsplit(mail._replace(netloc=f"127.0.0.1:{smtp_port}"))
    env["AFISHA_STORAGE_URL"] = _replace_storage(
        env["AFISHA_STORAGE_URL"], bucket=bucket, endpoint=s3.endpoint
    )
    assert urlsplit(env["AFISHA_PUBLIC_URL"]).hostname == "localhost"
    env["AFISHA_PUBLIC_URL"] = f"http://127.0.0.1:{api_port}"
    assert env["AFISHA_DATA_DIR"].startswith("/app/")  # the image's working directory
    env["AFISHA_DATA_DIR"] = str(data_dir)
    env["AFISHA_SCHEDULER_INTERVAL"] = "1s"

    outside = {k: v for k, v in os.environ.items() if not k.startswith(("AFISHA_", "AWS_"))}
    return {**outside, **env}


# --- running the commands of the compose file --------------------------------------------


def service_command(service: str, **replace: str) -> list[str]:
    """The command of a compose service, run with this interpreter; options replaced."""
    command = [str(part) for part in compose()["services"][service]["command"]]
    assert command[0] == "afisha"
    args = command[1:]
    for option, value in replace.items():
        flag = "--" + option
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return [*AFISHA, *args]


@dataclass
class Process:
    """A long-running command, its output going to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as `docker compose stop` sends, and wait for the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
                raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.output()}") from None
        self.log.close()
        return self.popen.returncode


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[str, list[str], dict[str, str]], Process]]:
    started: list[Process] = []

    def start(name: str, command: list[str], env: dict[str, str]) -> Process:
        log_path = tmp_path / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(  # noqa: S603 - this interpreter running the afisha command
            command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        process = Process(name=name, popen=popen, log_path=log_path, log=log)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
            process.log.close()


def run(command: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> str:
    result = subprocess.run(  # noqa: S603 - this interpreter running the afisha command
        command,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def applied_migrations(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM afisha_schema_migrations").fetchone()
    assert row is not None
    count: int = row[0]
    return count


def mailed_code(smtp: SmtpTestServer, address: str) -> str | None:
    for email in smtp.received_emails():
        if email.to == address and (match := CODE.search(email.text)):
            return match.group(1)
    return None


def test_the_compose_deployment_runs_as_separate_processes(
    tmp_path: Path,
    database_url: str,
    s3: S3Server,
    smtp: SmtpTestServer,
    processes: Callable[[str, list[str], dict[str, str]], Process],
) -> None:
    bucket = s3.create_bucket()
    s3.make_public(bucket)  # what the createbuckets service does with `mc anonymous set`
    api_port = free_port()
    env = local_environment(
        database_url=database_url,
        redis_url=require_redis(),
        s3=s3,
        bucket=bucket,
        smtp_port=smtp.port,
        api_port=api_port,
        data_dir=tmp_path / "afisha-data",
    )
    base = f"http://127.0.0.1:{api_port}"

    # The one-shot migrate service, then an administrator as the compose file says.
    assert "migrations applied" in run(service_command("migrate"), env, tmp_path)
    assert applied_migrations(database_url) >= 1
    created = run(
        [*AFISHA, "create-admin", "--email", "admin@example.org", "--username", "admin",
         "--password-stdin"],
        env,
        tmp_path,
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert "created system administrator admin" in created

    worker = processes("worker", service_command("worker"), env)
    api = processes("api", service_command("api", host="127.0.0.1", port=str(api_port)), env)

    def api_answers() -> bool:
        assert api.popen.poll() is None, f"the api exited:\n{api.output()}"
        assert worker.popen.poll() is None, f"the worker exited:\n{worker.output()}"
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(api_answers, "the api answers /healthz", STARTUP_TIMEOUT)

    with httpx.Client(base_url=base, timeout=10) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {
            "database": "ok",
            "storage": "ok",
            "rate_limiter": "ok",
        }

        # Registration: the API writes the code to the outbox; only the worker sends it.
        address = f"deploy-{uuid.uuid4().hex[:8]}@example.org"
        started = client.post(
            "/v1/registrations",
            json={"email": address, "username": f"u{uuid.uuid4().hex[:8]}",
                  "full_name": "Deploy Test", "password": PASSWORD},
        )  # fmt: skip
        assert started.status_code == 202, started.text
        wait_for(lambda: mailed_code(smtp, address) is not None, "the code is mailed", MAIL_TIMEOUT)
        confirmed = client.post(
            f"/v1/registrations/{started.json()['registration_token']}/confirm",
            json={"code": mailed_code(smtp, address)},
        )
        assert confirmed.status_code == 201, confirmed.text
        user = {"Authorization": f"Bearer {confirmed.json()['token']}"}

        # An event with a picture: it lands in the bucket and is read at its image_url.
        login = client.post("/v1/sessions", json={"login": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 201, login.text
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        event = client.post(
            "/v1/events",
            headers=admin,
            json={"name": "Deployment party", "starts_at": starts.isoformat(),
                  "ends_at": (starts + timedelta(hours=2)).isoformat(),
                  "max_participants_count": 10},
        )  # fmt: skip
        assert event.status_code == 201, event.text
        event_id = event.json()["id"]
        pictured = client.put(
            f"/v1/events/{event_id}/image",
            headers={**admin, "Content-Type": "image/png"},
            content=PNG,
        )
        assert pictured.status_code == 200, pictured.text
        image_url: str = pictured.json()["image_url"]
        assert image_url.startswith(f"{s3.endpoint}/{bucket}/")
        picture = httpx.get(image_url, timeout=10)
        assert picture.status_code == 200
        assert picture.content == PNG

        joined = client.put(f"/v1/events/{event_id}/participation", headers=user)
        assert joined.status_code == 200, joined.text
        assert joined.json()["my_status"] == "PARTICIPATING"
        assert joined.json()["image_url"] == image_url

    # The worker's compose health check, run as compose runs it (in the worker's place).
    health = [str(part) for part in compose()["services"]["worker"]["healthcheck"]["test"]]
    assert health[:2] == ["CMD", "afisha"]
    run([*AFISHA, *health[2:]], env, tmp_path)

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again so that the
    # exit status says what stopped it; the worker returns 0 from run_forever.
    assert api.stop() in {0, -signal.SIGTERM}, api.output()
    assert worker.stop() == 0, worker.output()
    assert re.search(r"mail: sent [1-9]", worker.output()), worker.output()
    assert "mail: sent" not in api.output()  # --no-scheduler: the API sends nothing


def test_the_adapted_environment_replaces_every_compose_address(tmp_path: Path) -> None:
    env = local_environment(
        database_url="postgresql://u@127.0.0.1:5432/d",
        redis_url="redis://127.0.0.1:6379/0",
        s3=S3Server(endpoint="http://127.0.0.1:9999"),
        bucket="b",
        smtp_port=2525,
        api_port=8081,
        data_dir=tmp_path,
    )
    values: dict[str, Any] = {k: v for k, v in env.items() if k.startswith("AFISHA_")}

    for value in values.values():
        for host in ("//postgres", "//redis", "//minio", "//mailpit", "//localhost", "/app/"):
            assert host not in value.replace("postgresql://u@", ""), value
    assert values["AFISHA_STORAGE_URL"] == (
        "s3://b?endpoint=http%3A%2F%2F127.0.0.1%3A9999&region=us-east-1"
        "&public_url=http%3A%2F%2F127.0.0.1%3A9999%2Fb"
    )
