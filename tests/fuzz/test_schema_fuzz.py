"""Schema-driven fuzzing of every operation of the app's own ``/openapi.json``.

schemathesis reads the document the app serves and calls the app through its ASGI
transport (no network), generating requests for every operation: boundary and
negative values (its coverage phase) and random valid ones (its fuzzing phase). Each
runs as anonymous, as a plain user and as a (system) administrator, against a seeded
database (a SQLite file, and a PostgreSQL schema), and every response must:

- not be a server error (no 5xx at all: every backing service is up);
- have a status code the document lists for the operation;
- match the documented schema and content type for that status.

Generation is derandomized, so a run is reproducible; the request of every failure
found goes into ``test_fuzz_regressions.py`` as an explicit test. The CI default is a
dozen random examples per operation and role on SQLite and half as many on
PostgreSQL, besides the coverage phase's edge cases (about a minute in all);
``AFISHA_FUZZ_EXAMPLES=200`` runs a deeper search locally.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from afisha_starlette.routes import API_ENDPOINTS
from tests.fuzz._scene import ROLE_HEADER, ROLES, FuzzScene, fuzz_app, openapi_of
from tests.security._stack import PASSWORD
from tests.support.services import require_postgres

#: A generated request of an OpenAPI operation.
Case = schemathesis.Case[Any]

EXAMPLES = int(os.environ.get("AFISHA_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


def bounded(examples: int) -> settings:
    """Small, reproducible and patient: derandomized, no deadline, no example database."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


SQLITE_APP, SQLITE_SCENE = fuzz_app("sqlite")
POSTGRES_APP, POSTGRES_SCENE = fuzz_app("postgres")
sqlite_schema = schemathesis.openapi.from_dict(openapi_of(SQLITE_APP))
sqlite_schema.app = SQLITE_APP
postgres_schema = schemathesis.openapi.from_dict(openapi_of(POSTGRES_APP))
postgres_schema.app = POSTGRES_APP


def _chance(value: object, every: int) -> bool:
    """A deterministic coin with 1 in ``every`` odds, keyed on a generated value."""
    return zlib.crc32(repr(value).encode()) % every == 0


def _aim_at_real_objects(case: Case, scene: FuzzScene) -> None:
    """Swap about half of the generated path parameters for ids of seeded objects."""
    params = case.path_parameters or {}
    for name, generated in list(params.items()):
        real = scene.ids.get(name)
        if real and not _chance(generated, 2):
            params[name] = real[zlib.crc32(repr(generated).encode()) % len(real)]


def _make_some_bodies_valid(case: Case) -> None:
    """Give a third of the account bodies a well-formed email, username and password.

    The document has no formats or patterns for them, so random strings would almost
    never pass validation and the code behind it (hashing, uniqueness, rate limits,
    the outbox) would never run.
    """
    body = case.body
    if not isinstance(body, dict) or not _chance(body, 3):
        return
    tag = f"{zlib.crc32(repr(body).encode()):08x}"
    fixes: dict[str, Any] = {
        "email": f"fuzz.{tag}@example.org",
        "username": f"fuzz_{tag}",
        "password": PASSWORD,
        "new_password": f"{PASSWORD} {tag}",
        "current_password": PASSWORD,
        "login": f"fuzz_{tag}",
    }
    for name, value in fixes.items():
        if name in body:
            body[name] = value


def run(case: Case, role: str, scene: Callable[[], FuzzScene], backend: str) -> None:
    """Aim the case, call the app as ``role``, and check the answer against the document."""
    with asgi.get_client(case.operation.app):  # runs the lifespan (seeding) once per app
        pass
    _aim_at_real_objects(case, scene())
    _make_some_bodies_valid(case)
    response = case.call(headers={ROLE_HEADER: role})
    case.validate_response(response, checks=CHECKS, headers={ROLE_HEADER: role})


@pytest.mark.parametrize("role", ROLES)
@sqlite_schema.parametrize()
@bounded(EXAMPLES)
def test_every_operation_answers_as_documented_on_sqlite(case: Case, role: str) -> None:
    run(case, role, SQLITE_SCENE, "sqlite")


@pytest.mark.parametrize("role", ROLES)
@postgres_schema.parametrize()
@bounded(max(1, EXAMPLES // 2))  # the coverage phase's edge values matter most here
def test_every_operation_answers_as_documented_on_postgres(case: Case, role: str) -> None:
    require_postgres()
    run(case, role, POSTGRES_SCENE, "postgres")


def test_the_fuzzed_document_covers_every_api_endpoint() -> None:
    results = list(sqlite_schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    fuzzed = {(op.method.upper(), op.path) for op in operations}

    assert len(operations) == len(results), "the document has invalid operations"
    assert fuzzed >= {(e.method, e.path) for e in API_ENDPOINTS}


@pytest.mark.parametrize(
    ("role", "status", "is_admin"),
    [("anonymous", 401, None), ("user", 200, False), ("admin", 200, True)],
)
def test_the_fuzzer_calls_as_each_role(role: str, status: int, is_admin: bool | None) -> None:
    with asgi.get_client(cast(Any, SQLITE_APP)) as client:
        response = client.get("/v1/users/me", headers={ROLE_HEADER: role})

    assert response.status_code == status
    if is_admin is not None:
        assert (response.json()["role"] == "ADMINISTRATOR") is is_admin
