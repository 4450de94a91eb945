"""What the schema fuzzer found, each as an explicit test of the request it generated.

Each test replays one failing example of ``test_schema_fuzz.py`` (the ``curl`` line
schemathesis printed is quoted) with plain httpx, so it runs without the fuzzer and
keeps the finding fixed. A bug still open is a strict xfail; when it XPASSes, drop the
mark and the matching entry of ``KNOWN_MISMATCHES`` in ``test_schema_fuzz.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.http import Api, open_api
from tests.support.world import World


@pytest.fixture
async def api(world: World) -> AsyncIterator[Api]:
    """An httpx client on the app over an in-memory world."""
    async with open_api(world) as opened:
        yield opened


def documented_success(document: dict[str, Any], method: str, path: str) -> tuple[str, Any]:
    """The success status of an operation and what the document says its body is."""
    responses = document["paths"][path][method.lower()]["responses"]
    status = next(s for s in responses if s.startswith("2"))
    return status, responses[status].get("content")


def assert_matches(response: httpx.Response, content: Any) -> None:
    """The response's body is what the document's ``content`` says (none when absent)."""
    if content is None:
        assert response.content == b"", response.content
        return
    media = response.headers.get("content-type", "").split(";")[0].strip()
    assert media in content, (media, sorted(content))


async def test_recovery_request_answers_the_202_its_document_describes(api: Api) -> None:
    # curl -X POST -H 'Content-Type: application/json'
    #      -d '{"email": "fuzz.4e5bbd92@example.org"}' http://testserver/v1/password-recovery
    document = (await api.client.get("/openapi.json")).json()
    status, content = documented_success(document, "POST", "/v1/password-recovery")

    response = await api.client.post(
        "/v1/password-recovery", json={"email": "fuzz.4e5bbd92@example.org"}
    )

    assert str(response.status_code) == status
    assert_matches(response, content)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/notifications/ack-all", None),
        ("DELETE", "/v1/sessions/current", None),
        ("GET", "/v1/users/me", None),
    ],
)
async def test_other_bodyless_or_json_successes_match_their_document(
    api: Api, method: str, path: str, body: Any
) -> None:
    account = await api.register()
    document = (await api.client.get("/openapi.json")).json()
    status, content = documented_success(document, method, path)

    response = await api.client.request(method, path, json=body, headers=account.headers)

    assert str(response.status_code) == status
    assert_matches(response, content)
