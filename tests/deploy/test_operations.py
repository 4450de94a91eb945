"""``afisha`` as an operator runs it: real processes, real ports, real files.

- ``afisha serve --workers 2`` answers from two processes and ``/metrics`` counts the
  requests of both (behind ``AFISHA_METRICS_TOKEN``); with ``AFISHA_LOG_FORMAT=json``
  every line it writes is a JSON object.
- ``/readyz`` does not depend on the mail server.
- The worker's heartbeat: ``afisha worker-health`` passes while it ticks, fails after.
- The embedded store: everything under ``AFISHA_DATA_DIR``, a self-contained
  ``afisha.db`` after a clean stop, ``afisha backup``, links that follow ``--port``,
  and a busy port stopping a second server before it does any work.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx

from tests.support.process import (
    COMMAND,
    afisha_serve,
    clean_env,
    free_port,
    run_afisha,
)
from tests.support.smtp_server import closed_port

PASSWORD = "an operator's passphrase"
TOKEN = "metrics-token-for-the-test"


def register(base: str, n: int) -> None:
    response = httpx.post(
        f"{base}/v1/registrations",
        json={"email": f"ops{n}@example.org", "username": f"ops{n}", "full_name": "Ops",
              "password": PASSWORD},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 202, response.text


def json_lines(output: str) -> list[dict[str, object]]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


def test_two_workers_serve_and_metrics_count_the_requests_of_both(tmp_path: Path) -> None:
    env = clean_env(
        AFISHA_DATA_DIR=str(tmp_path / "data"),
        AFISHA_LOG_FORMAT="json",
        AFISHA_METRICS_TOKEN=TOKEN,
    )
    with afisha_serve(tmp_path, env, "--workers", "2", "--no-scheduler") as server:
        url = f"{server.base}/v1/events"

        def get(_: int) -> int:
            return httpx.get(url, timeout=10).status_code  # a new connection each time

        sent = 0
        pids: set[object] = set()
        with ThreadPoolExecutor(8) as pool:
            while len(pids) < 2 and sent < 800:
                assert set(pool.map(get, range(40))) == {200}
                sent += 40
                time.sleep(0.3)  # let the access lines reach the log
                pids = {
                    line["pid"]
                    for line in json_lines(server.output())
                    if line.get("route") == "/v1/events"
                }
        refused = httpx.get(f"{server.base}/metrics", timeout=10)
        scraped = httpx.get(
            f"{server.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
    output = server.output()

    assert len(pids) == 2, "two processes answered"
    assert refused.status_code == 401
    assert scraped.status_code == 200
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in scraped.text.splitlines()
        if line.startswith("afisha_http_requests_total{")
        and 'route="/v1/events"' in line
        and 'status="200"' in line
    )
    assert counted == sent
    assert "afisha_http_request_duration_seconds_bucket" in scraped.text
    assert "afisha_outbox_pending" in scraped.text
    assert "afisha_webhook_deliveries_failed 0.0" in scraped.text
    assert "afisha_webhooks_disabled 0.0" in scraped.text
    lines = json_lines(output)
    assert all({"time", "level", "message"} <= line.keys() for line in lines)
    assert any("Afisha API on" in str(line["message"]) for line in lines), "the banner"
    access = [line for line in lines if line.get("route") == "/v1/events"]
    assert access
    assert {"request_id", "status", "duration_ms", "method"} <= access[0].keys()


def test_readiness_does_not_depend_on_the_mail_server(tmp_path: Path) -> None:
    with closed_port() as port:
        env = clean_env(
            AFISHA_DATA_DIR=str(tmp_path / "data"), AFISHA_SMTP_URL=f"smtp://127.0.0.1:{port}"
        )
        with afisha_serve(tmp_path, env, "--no-scheduler") as server:
            ready = httpx.get(f"{server.base}/readyz", timeout=10)

    assert ready.status_code == 200, ready.text


def test_the_worker_health_check_passes_while_it_ticks_and_fails_after(tmp_path: Path) -> None:
    env = clean_env(AFISHA_DATA_DIR=str(tmp_path / "data"), AFISHA_SCHEDULER_INTERVAL="1s")
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*COMMAND, "worker"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while run_afisha(tmp_path, env, "worker-health", "--max-age", "3s").returncode != 0:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker never became healthy"
                time.sleep(0.3)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    time.sleep(4)

    stale = run_afisha(tmp_path, env, "worker-health", "--max-age", "3s")

    assert stale.returncode == 1
    assert "worker" in stale.stderr


def test_the_embedded_store_lives_in_the_data_dir_and_stops_self_contained(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = clean_env(AFISHA_DATA_DIR=str(data), AFISHA_SCHEDULER_INTERVAL="1s")
    port = free_port()
    with afisha_serve(tmp_path, env, port=port) as server:
        register(server.base, 1)
        servers = httpx.get(f"{server.base}/openapi.json", timeout=10).json()["servers"]
        deadline = time.monotonic() + 20
        while not list((data / "outbox").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert server.process.returncode == 0, server.output()

    assert servers[0]["url"] == f"http://127.0.0.1:{port}"  # links follow --port
    assert list((data / "outbox").glob("*.eml")), "the outbox is under AFISHA_DATA_DIR"
    assert (data / "media").is_dir()
    assert not (tmp_path / "afisha-data").exists(), "nothing outside AFISHA_DATA_DIR"
    alone = tmp_path / "copied" / "afisha.db"
    alone.parent.mkdir()
    shutil.copyfile(data / "afisha.db", alone)  # the file alone, as a naive backup copies it
    with closing(sqlite3.connect(alone)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM registrations").fetchone()
    assert count == 1

    backup = run_afisha(tmp_path, env, "backup", str(tmp_path / "backup" / "afisha.db"))
    assert backup.returncode == 0, backup.stderr
    with closing(sqlite3.connect(tmp_path / "backup" / "afisha.db")) as conn:
        (count,) = conn.execute("SELECT count(*) FROM registrations").fetchone()
    assert count == 1


def test_a_busy_port_stops_a_second_server_before_it_does_any_work(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_afisha(tmp_path, clean_env(AFISHA_DATA_DIR=str(data)), "serve", "--port",
                            str(port))  # fmt: skip

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert str(port) in output
    assert "Afisha API on" not in output
    assert not (data / "afisha.db").exists(), "the database was touched"
