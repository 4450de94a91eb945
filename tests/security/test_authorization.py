"""Authorization attacks, table-driven from the server's own endpoint registry.

Every endpoint of ``API_ENDPOINTS`` that takes an id is classified below; a new one
fails :func:`test_every_endpoint_with_an_id_is_classified` until someone decides how
it must answer an attacker. Each refusal must also change nothing at all: the whole
SQLite database (every row of every table, the outbox and notifications included) is
compared before and after.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from afisha_core.domain import Webhook
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.routes import API_ENDPOINTS
from tests.security._stack import PASSWORD, Account, Stack, sqlite_snapshot

PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
MISSING = "6f1c7b52-0000-4000-8000-000000000000"
_PARAM = re.compile(r"{(\w+)}")


@attrs.define
class Victim:
    """A user's objects that another user must neither see nor touch."""

    victim: Account
    victim_second: Account
    attacker: Account
    admin: Account
    ids: dict[str, str]


async def victim_scene(stack: Stack) -> Victim:
    """The victim with a second session, a notification, a cancelled event they joined."""
    admin = await stack.admin()
    victim, attacker = await stack.register(), await stack.register()
    second = await stack.relogin(victim)
    sessions = (await stack.client.get("/v1/sessions", headers=second.headers)).json()
    uid = next(s["uid"] for s in sessions["items"] if s["current"])
    event = await stack.create_event(admin, max_participants_count=5)
    cancelled = await stack.create_event(admin)
    for joined in (event, cancelled):
        response = await stack.client.put(
            f"/v1/events/{joined['id']}/participation", headers=victim.headers
        )
        assert response.status_code == 200, response.text
    rejected = await stack.client.post(
        f"/v1/events/{cancelled['id']}/reject", headers=admin.headers
    )
    assert rejected.status_code == 200
    notes = await stack.client.get("/v1/notifications", headers=victim.headers)
    # A webhook, stored directly (the stack's core has no webhook sender configured).
    webhook = Webhook(
        id=uuid.uuid4(),
        url="https://receiver.example/hook",
        event_types=("event.created",),
        secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        created_at=datetime.now(UTC),
    )
    async with stack.uow() as uow:
        await uow.webhooks.add(webhook)
        await uow.commit()
    return Victim(
        victim=victim,
        victim_second=second,
        attacker=attacker,
        admin=admin,
        ids={
            "uid": uid,
            "notification_id": notes.json()["items"][0]["id"],
            "event_id": cancelled["id"],
            "open_event_id": event["id"],
            "user_id": victim.id,
            "webhook_id": str(webhook.id),
        },
    )


# --- the classification ------------------------------------------------------------

#: Endpoints whose id names the caller's own object: someone else's is 404.
OWNED = {
    ("DELETE", "/v1/sessions/{uid}"),
    ("POST", "/v1/notifications/{notification_id}/ack"),
}
#: Sign-ups of a cancelled event the attacker never joined. (The event itself and its
#: calendar file stay readable by anyone with the id, so links in mails and calendar
#: subscriptions show the cancellation; that is tested in tests/http.) Joining it is
#: 409 event_rejected or 404 (the matrix in tests/http allows both).
VISIBILITY: dict[tuple[str, str], tuple[int, ...]] = {
    ("DELETE", "/v1/events/{event_id}/participation"): (404,),
    ("PUT", "/v1/events/{event_id}/participation"): (404, 409),
}
#: Readable by anyone who has the event's id, cancelled or not (what an event page,
#: a mail link and a calendar subscription need); they change nothing.
PUBLIC = {
    ("GET", "/v1/events/{event_id}"),
    ("GET", "/v1/events/{event_id}/calendar.ics"),
}
#: Endpoints whose path segment is a bearer secret, not an id: knowing it is the
#: authorization (single use, expiry and binding are in test_tokens.py).
CREDENTIALS = {
    ("POST", "/v1/registrations/{registration_token}/confirm"),
    ("POST", "/v1/password-recovery/{recovery_token}"),
    # A personal calendar feed: rotation and revocation are in tests/clients.
    ("GET", "/v1/calendar-feeds/{feed_token}.ics"),
}
ADMIN_ONLY = [e for e in API_ENDPOINTS if e.access == "admin"]


def _key(endpoint: Endpoint) -> tuple[str, str]:
    return endpoint.method, endpoint.path


def test_every_endpoint_with_an_id_is_classified() -> None:
    with_ids = {_key(e) for e in API_ENDPOINTS if _PARAM.search(e.path)}
    admin = {_key(e) for e in ADMIN_ONLY}
    classified = OWNED | set(VISIBILITY) | PUBLIC | CREDENTIALS | admin

    assert with_ids <= classified, sorted(with_ids - classified)
    sizes = len(OWNED) + len(VISIBILITY) + len(PUBLIC) + len(CREDENTIALS) + len(admin)
    assert sizes == len(classified), "an endpoint is in two classes"


def _request(endpoint: Endpoint, ids: dict[str, str]) -> dict[str, Any]:
    """The arguments of a plausible, well-formed request to ``endpoint``."""
    kwargs: dict[str, Any] = {"method": endpoint.method, "url": endpoint.path.format(**ids)}
    if endpoint.body is bytes:
        kwargs["content"] = PNG
        kwargs["headers"] = {"Content-Type": "image/png"}
    elif endpoint.body is not None:
        bodies = {
            "/v1/users/{user_id}": {"role": "ADMINISTRATOR"},
            "/v1/events/{event_id}": {"name": "Taken over", "max_participants_count": 1},
            "/v1/events/{event_id}/reject": {"reason": "because"},
            "/v1/events": {
                "name": "Planted",
                "starts_at": "2030-02-01T10:00:00+00:00",
                "ends_at": "2030-02-01T12:00:00+00:00",
            },
        }
        kwargs["json"] = bodies.get(endpoint.path, {})
    return kwargs


def _with(headers: dict[str, str], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}


# --- IDOR ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [e for e in API_ENDPOINTS if _key(e) in OWNED | set(VISIBILITY)],
    ids=lambda e: f"{e.method} {e.path}",
)
async def test_another_users_object_is_not_found_and_untouched(
    stack: Stack, db_path: Path, endpoint: Endpoint
) -> None:
    scene = await victim_scene(stack)
    before = sqlite_snapshot(db_path)

    response = await stack.client.request(
        **_with(scene.attacker.headers, _request(endpoint, scene.ids))
    )

    allowed = VISIBILITY.get(_key(endpoint), (404,))
    assert response.status_code in allowed, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert sqlite_snapshot(db_path) == before
    me = await stack.client.get("/v1/users/me", headers=scene.victim_second.headers)
    assert me.status_code == 200


@pytest.mark.parametrize("endpoint", sorted(OWNED), ids=lambda key: f"{key[0]} {key[1]}")
async def test_a_missing_object_and_someone_elses_answer_alike(
    stack: Stack, endpoint: tuple[str, str]
) -> None:
    scene = await victim_scene(stack)
    method, path = endpoint

    theirs = await stack.client.request(
        method, path.format(**scene.ids), headers=scene.attacker.headers
    )
    missing = await stack.client.request(
        method, path.format(**dict.fromkeys(scene.ids, MISSING)), headers=scene.attacker.headers
    )

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


# --- administrators only --------------------------------------------------------------


@pytest.mark.parametrize("target", ["existing", "missing"])
@pytest.mark.parametrize("endpoint", ADMIN_ONLY, ids=lambda e: f"{e.method} {e.path}")
async def test_a_user_is_forbidden_every_admin_endpoint_and_changes_nothing(
    stack: Stack, db_path: Path, endpoint: Endpoint, target: str
) -> None:
    scene = await victim_scene(stack)
    ids = scene.ids if target == "existing" else dict.fromkeys(scene.ids, MISSING)
    ids = {**ids, "event_id": scene.ids["open_event_id"] if target == "existing" else MISSING}
    before = sqlite_snapshot(db_path)

    as_user = await stack.client.request(**_with(scene.attacker.headers, _request(endpoint, ids)))
    anonymous = await stack.client.request(**_request(endpoint, ids))

    assert as_user.status_code == 403, as_user.text
    assert as_user.json()["code"] == "forbidden"
    assert anonymous.status_code == 401, anonymous.text
    assert sqlite_snapshot(db_path) == before


async def test_listing_cancelled_events_is_for_administrators(stack: Stack) -> None:
    scene = await victim_scene(stack)

    as_user = await stack.client.get(
        "/v1/events", params={"include_rejected": "true"}, headers=scene.attacker.headers
    )
    as_admin = await stack.client.get(
        "/v1/events", params={"include_rejected": "true"}, headers=scene.admin.headers
    )

    assert as_user.status_code == 403
    assert as_admin.status_code == 200
    assert scene.ids["event_id"] in {e["id"] for e in as_admin.json()["items"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/users/me", {"role": "ADMINISTRATOR"}),
        ("/v1/users/me", {"is_system": True}),
        ("/v1/users/me", {"email": "someone.else@example.org"}),
        ("/v1/users/me", {"id": MISSING}),
    ],
)
async def test_a_user_cannot_grant_themselves_anything(
    stack: Stack, db_path: Path, path: str, body: dict[str, Any]
) -> None:
    user = await stack.register()
    before = sqlite_snapshot(db_path)

    response = await stack.client.patch(path, json=body, headers=user.headers)

    assert response.status_code == 422, response.text
    assert sqlite_snapshot(db_path) == before
    me = (await stack.client.get("/v1/users/me", headers=user.headers)).json()
    assert me["role"] == "USER"
    assert me["is_system"] is False


async def test_registration_cannot_smuggle_a_role(stack: Stack) -> None:
    response = await stack.client.post(
        "/v1/registrations",
        json={
            "email": "sneaky@example.org",
            "username": "sneaky",
            "full_name": "Sneaky",
            "password": PASSWORD,
            "role": "ADMINISTRATOR",
        },
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"role"}
    assert stack.sent == []
    assert await stack.deliver() == []


# --- the system user ------------------------------------------------------------------


async def test_the_system_user_survives_every_attempt_to_demote_or_delete_it(
    stack: Stack, db_path: Path
) -> None:
    system = await stack.admin(is_system=True)
    other_admin = await stack.admin()
    before = sqlite_snapshot(db_path)

    attempts = [
        await stack.client.patch(
            f"/v1/users/{system.id}", json={"role": "USER"}, headers=other_admin.headers
        ),
        await stack.client.delete(f"/v1/users/{system.id}", headers=other_admin.headers),
        await stack.client.patch(
            f"/v1/users/{system.id}", json={"role": "USER"}, headers=system.headers
        ),
        await stack.client.delete(f"/v1/users/{system.id}", headers=system.headers),
        await stack.client.request(
            "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=system.headers
        ),
    ]

    for response in attempts:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "system_user"
    assert sqlite_snapshot(db_path) == before
    me = await stack.client.get("/v1/users/me", headers=system.headers)
    assert me.status_code == 200
    assert me.json()["role"] == "ADMINISTRATOR"
    assert me.json()["is_system"] is True


async def test_an_ordinary_admin_can_be_demoted_and_then_loses_admin_rights(
    stack: Stack,
) -> None:
    system = await stack.admin(is_system=True)
    demoted = await stack.admin()

    response = await stack.client.patch(
        f"/v1/users/{demoted.id}", json={"role": "USER"}, headers=system.headers
    )

    assert response.status_code == 200
    listing = await stack.client.get("/v1/users", headers=demoted.headers)
    assert listing.status_code == 403
