"""Every example of examples/ runs as its documentation says, and prints what it promises.

Each one runs as a subprocess, as a reader would run it: ``python examples/<name>.py``,
and ``pytest examples/test_custom_mailer.py`` for the Mailer contract of the custom
mailer. They run from a scratch directory (so Hypothesis' example database and any data
folder stay out of the repository), except pytest, which needs the project's config.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from afisha_core.testing.contracts.mailer import MailerContract
from tests.support.services import in_ci, require_postgres

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 120


def run_example(name: str, cwd: Path) -> str:
    """Run ``examples/<name>`` with this interpreter; its standard output."""
    result = subprocess.run(  # noqa: S603 - this interpreter running an example of the repo
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith("AFISHA_")},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_every_example_is_run_by_this_module() -> None:
    tested = {
        "in_memory.py",
        "other_framework.py",
        "custom_mailer.py",
        "property_test.py",
        "fastapi_app.py",
    }
    contract = {"test_custom_mailer.py"}

    assert {path.name for path in EXAMPLES.glob("*.py")} == tested | contract
    assert (EXAMPLES / "django_app" / "demo.py").is_file()  # run below


def test_the_core_in_memory(tmp_path: Path) -> None:
    lines = run_example("in_memory.py", tmp_path).splitlines()

    assert lines[:4] == [
        "ann joins 'Jazz night': PARTICIPATING, spots left: 0",
        "bob asks to wait: WAITLISTED, waiting: 1",
        "ann leaves, so bob is promoted: PARTICIPATING",
        "reminders queued: 1",
    ]
    assert re.fullmatch(r"emails sent: \d+", lines[4])
    bob = [line.strip() for line in lines[5:]]
    assert bob[0] == "to bob: Your Afisha verification code"
    assert bob[1:] == ["to bob: You have a spot: Jazz night", "to bob: Reminder: Jazz night"]


def test_the_core_inside_a_flask_app(tmp_path: Path) -> None:
    if importlib.util.find_spec("flask") is None:  # it comes with moto[server] (test-servers)
        if in_ci():
            pytest.fail("CI=true and Flask is not installed")
        pytest.skip("Flask is not installed")

    output = run_example("other_framework.py", tmp_path)

    assert output.splitlines() == [
        "POST /login with a wrong password -> 401 invalid_credentials",
        "POST /login -> 201, logged in as admin",
        "GET /events -> 200: 'Flask meetup', spots left 2",
        "PUT participation -> 200: PARTICIPATING, spots left 1",
        "PUT participation again -> 200: PARTICIPATING (idempotent)",
        "PUT participation without a token -> 401 not_authenticated",
        "PUT participation of an unknown event -> 404 not_found",
    ]
    assert list(tmp_path.iterdir()) == []  # the demo's data lived in a temporary folder


def test_a_custom_mailer_wired_into_the_core(tmp_path: Path) -> None:
    lines = run_example("custom_mailer.py", tmp_path).splitlines()

    assert lines[0] == "delivered: 1"
    assert lines[1].startswith('{"to": "ann@example.org", "subject": "Your Afisha verification')
    assert lines[2] == "read back: to=ann@example.org subject='Your Afisha verification code'"


def test_the_custom_mailer_passes_the_mailer_contract() -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "examples/test_custom_mailer.py",
            "-p", "no:cacheprovider", "-q", "-rA",
            # pytest-asyncio's default mode, as in a project that copied the example.
            "-o", "asyncio_mode=strict",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None, output
    contract = [name for name in dir(MailerContract) if name.startswith("test_")]
    assert int(passed.group(1)) == len(contract) + 1, output  # the suite plus its own test
    for name in contract:
        assert f"TestJsonlMailer::{name}" in output, name
    assert "skipped" not in output


def test_property_based_tests_with_the_shipped_strategies(tmp_path: Path) -> None:
    output = run_example("property_test.py", tmp_path)

    assert output.splitlines() == [
        "property holds: every event is listed once on the day it starts locally",
        "property holds: the days are in order",
        "property holds: the badge tells the truth",
    ]


def test_the_fastapi_host_demo(tmp_path: Path) -> None:
    lines = run_example("fastapi_app.py", tmp_path).splitlines()

    assert lines == [
        "docs: 200",
        "openapi servers: http://127.0.0.1:8000/afisha",
        "events: []",
        "host users: ann",
        "me without a token: 401",
    ]


def test_the_django_host_migrates_both_databases_and_serves_the_core(tmp_path: Path) -> None:
    """Django's migrate applies Afisha's schema; async views answer through AsyncClient."""
    import psycopg  # noqa: PLC0415 - PostgreSQL only for this example
    from psycopg import sql  # noqa: PLC0415

    url = require_postgres()
    schema = f"django_{uuid.uuid4().hex[:12]}"
    try:
        result = subprocess.run(  # noqa: S603 - this interpreter running an example of the repo
            [sys.executable, str(EXAMPLES / "django_app" / "demo.py")],
            cwd=tmp_path,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("AFISHA_")},
                "AFISHA_DATABASE_URL": f"{url}?schema={schema}",
                "HOST_DATA_DIR": str(tmp_path),
            },
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines() == [
            "migrated",
            "me without a token: 401",
            "me: boss secrets: []",
            "events: [('Jazz', None)]",
            "joined: PARTICIPATING spots left: None",
            "notes: ['bring a trumpet']",
        ]
        assert (tmp_path / "host.sqlite3").is_file()  # the host's own database
        with psycopg.connect(url) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (schema,),
                )
            }
        assert {"users", "events", "participations"} <= tables  # Afisha's, in its schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
