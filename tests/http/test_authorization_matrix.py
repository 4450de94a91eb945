"""Who may do what to whose objects: every endpoint that takes an id, times every kind of caller.

The objects belong to "user": a second session of theirs, their account, an event they
joined (and a cancelled one they had joined), and a notification of theirs. "other" is
another plain user, "admin" an administrator (not a system user). A refused request
must also leave the object as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from tests.support.http import Account, Api, assert_problem

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(24)
MISSING = "0b5c1f9e-3f4e-4a5e-9a55-1d2c3b4a5f60"
CALLERS = ("anonymous", "user", "other", "admin")


@attrs.define
class Scene:
    """The objects of one test and the accounts that call."""

    api: Api
    user: Account
    user_second: Account
    other: Account
    admin: Account
    ids: dict[str, str]

    def caller(self, name: str) -> Account | None:
        """The account behind a caller name (``None`` for anonymous)."""
        return {"anonymous": None, "user": self.user, "other": self.other, "admin": self.admin}[
            name
        ]


async def build_scene(api: Api) -> Scene:
    """A user with a second session, an event they joined, a cancelled one, a notification."""
    admin = await api.admin()
    user = await api.register()
    other = await api.register()
    user_second = await api.login_account(user)
    sessions = (await api.client.get("/v1/sessions", headers=user_second.headers)).json()
    session_uid = next(s["uid"] for s in sessions["items"] if s["current"])
    event = await api.create_event(admin, location="Hall A")
    cancelled = await api.create_event(admin)
    for joined in (event, cancelled):
        assert (await api.join(user, joined["id"])).status_code == 200
    moved = await api.client.patch(
        f"/v1/events/{event['id']}", json={"location": "Hall B"}, headers=admin.headers
    )
    assert moved.status_code == 200
    rejected = await api.client.post(f"/v1/events/{cancelled['id']}/reject", headers=admin.headers)
    assert rejected.status_code == 200
    notifications = await api.notifications(user, unacked="true")
    return Scene(
        api=api,
        user=user,
        user_second=user_second,
        other=other,
        admin=admin,
        ids={
            "session": session_uid,
            "user": user.id,
            "event": event["id"],
            "rejected": cancelled["id"],
            "notification": notifications[-1]["id"],
        },
    )


Check = Callable[[Scene], Awaitable[None]]


async def session_alive(scene: Scene) -> None:
    """The user's second session still works."""
    response = await scene.api.client.get("/v1/users/me", headers=scene.user_second.headers)
    assert response.status_code == 200


async def user_unchanged(scene: Scene) -> None:
    """The user still exists as a plain user."""
    response = await scene.api.client.get("/v1/users/me", headers=scene.user.headers)
    assert response.status_code == 200
    assert response.json()["role"] == "USER"


async def event_unchanged(scene: Scene) -> None:
    """The event is live, unnamed by anybody else, without a picture."""
    response = await scene.api.client.get(f"/v1/events/{scene.ids['event']}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["name"] == "Concert"
    assert body["rejected_at"] is None
    assert body["image_url"] is None


async def still_participating(scene: Scene) -> None:
    """The user still holds their spot."""
    response = await scene.api.client.get(
        f"/v1/events/{scene.ids['event']}", headers=scene.user.headers
    )
    assert response.json()["my_status"] == "PARTICIPATING"


async def notification_unacked(scene: Scene) -> None:
    """The user's notification is still unread."""
    unread = await scene.api.notifications(scene.user, unacked="true")
    assert scene.ids["notification"] in {n["id"] for n in unread}


async def nothing(_scene: Scene) -> None:
    """A read: nothing to check."""


#: One status, or the statuses the HTTP contract leaves open (see the case's comment).
Expected = int | tuple[int, ...]


@attrs.frozen
class Case:
    """One endpoint: how to call it, what each caller gets, and what a refusal keeps."""

    name: str
    method: str
    path: str
    expected: dict[str, Expected]
    missing: dict[str, Expected]
    json: dict[str, Any] | None = None
    image: bool = False
    intact: Check = nothing


def by_caller(
    anonymous: Expected, user: Expected, other: Expected, admin: Expected
) -> dict[str, Expected]:
    """The expected statuses in caller order (a tuple where the contract allows either)."""
    return dict(zip(CALLERS, (anonymous, user, other, admin), strict=True))


CASES = [
    Case("revoke session", "DELETE", "/v1/sessions/{session}",
         by_caller(401, 204, 404, 404), by_caller(401, 404, 404, 404), intact=session_alive),
    Case("set role", "PATCH", "/v1/users/{user}",
         by_caller(401, 403, 403, 200), by_caller(401, 403, 403, 404),
         json={"role": "ADMINISTRATOR"}, intact=user_unchanged),
    Case("delete user", "DELETE", "/v1/users/{user}",
         by_caller(401, 403, 403, 204), by_caller(401, 403, 403, 404), intact=user_unchanged),
    Case("get event", "GET", "/v1/events/{event}",
         by_caller(200, 200, 200, 200), by_caller(404, 404, 404, 404)),
    # A cancelled event stays reachable by its id for anyone (the HTTP contract), so
    # links in mails and calendar subscriptions show the cancellation.
    Case("get cancelled event", "GET", "/v1/events/{rejected}",
         by_caller(200, 200, 200, 200), by_caller(404, 404, 404, 404)),
    Case("edit event", "PATCH", "/v1/events/{event}",
         by_caller(401, 403, 403, 200), by_caller(401, 403, 403, 404),
         json={"name": "Renamed"}, intact=event_unchanged),
    Case("cancel event", "POST", "/v1/events/{event}/reject",
         by_caller(401, 403, 403, 200), by_caller(401, 403, 403, 404),
         json={"reason": "nope"}, intact=event_unchanged),
    Case("set image", "PUT", "/v1/events/{event}/image",
         by_caller(401, 403, 403, 200), by_caller(401, 403, 403, 404),
         image=True, intact=event_unchanged),
    Case("calendar", "GET", "/v1/events/{event}/calendar.ics",
         by_caller(200, 200, 200, 200), by_caller(404, 404, 404, 404)),
    Case("calendar of cancelled event", "GET", "/v1/events/{rejected}/calendar.ics",
         by_caller(200, 200, 200, 200), by_caller(404, 404, 404, 404)),
    Case("join", "PUT", "/v1/events/{event}/participation",
         by_caller(401, 200, 200, 200), by_caller(401, 404, 404, 404),
         intact=still_participating),
    # The contract names 409 event_rejected here, and 404 for what the caller may not see:
    # a stranger may get either; the admin sees the event, so it is 409.
    Case("join cancelled event", "PUT", "/v1/events/{rejected}/participation",
         by_caller(401, 200, (404, 409), 409), by_caller(401, 404, 404, 404)),
    Case("leave", "DELETE", "/v1/events/{event}/participation",
         by_caller(401, 200, 200, 200), by_caller(401, 404, 404, 404),
         intact=still_participating),
    # The admin never joined: leaving is idempotent (200) or there is nothing (404).
    Case("leave cancelled event", "DELETE", "/v1/events/{rejected}/participation",
         by_caller(401, 200, 404, (200, 404)), by_caller(401, 404, 404, 404)),
    Case("participants", "GET", "/v1/events/{event}/participants",
         by_caller(401, 403, 403, 200), by_caller(401, 403, 403, 404)),
    Case("ack notification", "POST", "/v1/notifications/{notification}/ack",
         by_caller(401, 200, 404, 404), by_caller(401, 404, 404, 404),
         intact=notification_unacked),
]  # fmt: skip


def as_tuple(expected: Expected) -> tuple[int, ...]:
    """The allowed statuses."""
    return expected if isinstance(expected, tuple) else (expected,)


ERROR_CODES = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}


async def call(scene: Scene, case: Case, caller: str, *, missing: bool) -> Any:
    """Make the case's request as ``caller``, on the real object or a missing one."""
    ids = dict.fromkeys(scene.ids, MISSING) if missing else scene.ids
    account = scene.caller(caller)
    headers = account.headers if account else {}
    kwargs: dict[str, Any] = {}
    if case.image:
        kwargs["content"] = PNG
        headers = headers | {"Content-Type": "image/png"}
    elif case.json is not None:
        kwargs["json"] = case.json
    return await scene.api.client.request(
        case.method, case.path.format(**ids), headers=headers, **kwargs
    )


def check_refusal(response: Any, status: int) -> None:
    """A refusal is a problem document with the status's code (and a challenge on 401)."""
    body = assert_problem(response, status)
    if status in ERROR_CODES:
        assert body["code"] == ERROR_CODES[status], body
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_access_to_users_objects(api: Api, case: Case, caller: str) -> None:
    scene = await build_scene(api)

    response = await call(scene, case, caller, missing=False)

    allowed = as_tuple(case.expected[caller])
    assert response.status_code in allowed, (case.name, caller, response.text)
    if response.status_code >= 400:
        check_refusal(response, response.status_code)
        await case.intact(scene)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_access_to_missing_objects(api: Api, case: Case, caller: str) -> None:
    scene = await build_scene(api)

    response = await call(scene, case, caller, missing=True)

    allowed = as_tuple(case.missing[caller])
    assert response.status_code in allowed, (case.name, caller, response.text)
    check_refusal(response, response.status_code)


PROTECTED = [case for case in CASES if case.expected["anonymous"] == 401]


@pytest.mark.parametrize("case", PROTECTED, ids=lambda c: c.name)
async def test_a_revoked_token_is_unauthenticated_on_protected_endpoints(
    api: Api, case: Case
) -> None:
    scene = await build_scene(api)
    logout = await api.client.delete("/v1/sessions/current", headers=scene.admin.headers)
    assert logout.status_code == 204

    response = await call(scene, case, "admin", missing=False)

    check_refusal(response, 401)
