"""Tokens: each works for its purpose, for its owner, once (or until it ends), and no longer.

Session tokens must stop working at every way a session ends; registration and
recovery tokens are single-use, expire, and act only on their own user; no kind of
token is accepted where another kind is expected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest

from tests.security._stack import PASSWORD, Account, Stack

NEW_PASSWORD = "a completely new secret"

#: Protected endpoints a stolen token would be used on: reads, a write, and a public
#: endpoint (where a bad token is a 401 too, never an anonymous view).
PROBES: list[tuple[str, str]] = [
    ("GET", "/v1/users/me"),
    ("GET", "/v1/sessions"),
    ("GET", "/v1/notifications"),
    ("POST", "/v1/notifications/ack-all"),
    ("GET", "/v1/events"),
]


async def probe(stack: Stack, token: str) -> set[int]:
    """The statuses of every probe endpoint with ``token``."""
    headers = {"Authorization": f"Bearer {token}"}
    return {(await stack.client.request(m, p, headers=headers)).status_code for m, p in PROBES}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.json()["code"] == "not_authenticated"


# --- sessions -------------------------------------------------------------------------

Ending = Callable[[Stack, Account, Account], Awaitable[None]]


async def logout(stack: Stack, victim: Account, _admin: Account) -> None:
    response = await stack.client.delete("/v1/sessions/current", headers=victim.headers)
    assert response.status_code == 204


async def revoke_from_another_session(stack: Stack, victim: Account, _admin: Account) -> None:
    other = await stack.relogin(victim)
    listing = await stack.client.get("/v1/sessions", headers=victim.headers)
    uid = next(s["uid"] for s in listing.json()["items"] if s["current"])
    response = await stack.client.delete(f"/v1/sessions/{uid}", headers=other.headers)
    assert response.status_code == 204


async def expire(stack: Stack, _victim: Account, _admin: Account) -> None:
    stack.clock.advance(stack.settings.session_ttl)


async def change_password_elsewhere(stack: Stack, victim: Account, _admin: Account) -> None:
    other = await stack.relogin(victim)
    response = await stack.client.post(
        "/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=other.headers,
    )
    assert response.status_code == 204


async def reset_password(stack: Stack, victim: Account, _admin: Account) -> None:
    asked = await stack.client.post("/v1/password-recovery", json={"email": victim.email})
    assert asked.status_code == 202
    token = await stack.recovery_token_for(victim.email)
    done = await stack.client.post(
        f"/v1/password-recovery/{token}", json={"password": NEW_PASSWORD}
    )
    assert done.status_code == 204


async def delete_self(stack: Stack, victim: Account, _admin: Account) -> None:
    other = await stack.relogin(victim)
    response = await stack.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=other.headers
    )
    assert response.status_code == 204


async def deleted_by_admin(stack: Stack, victim: Account, admin: Account) -> None:
    response = await stack.client.delete(f"/v1/users/{victim.id}", headers=admin.headers)
    assert response.status_code == 204


ENDINGS: dict[str, Ending] = {
    "logout": logout,
    "revoked from another session": revoke_from_another_session,
    "expiry": expire,
    "password changed in another session": change_password_elsewhere,
    "password reset": reset_password,
    "account deleted by its owner": delete_self,
    "account deleted by an admin": deleted_by_admin,
}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
async def test_a_session_token_stops_working_everywhere_when_its_session_ends(
    stack: Stack, ending: Ending
) -> None:
    admin = await stack.admin()
    victim = await stack.register()
    assert await probe(stack, victim.token) == {200}

    await ending(stack, victim, admin)

    assert await probe(stack, victim.token) == {401}
    assert_unauthenticated(await stack.client.get("/v1/users/me", headers=victim.headers))


async def test_the_session_changing_the_password_keeps_working(stack: Stack) -> None:
    victim = await stack.register()

    response = await stack.client.post(
        "/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=victim.headers,
    )

    assert response.status_code == 204
    assert await probe(stack, victim.token) == {200}


async def test_activity_never_extends_a_session_past_its_lifetime(stack: Stack) -> None:
    victim = await stack.register()
    ttl = stack.settings.session_ttl
    step = ttl / 10

    for _ in range(9):
        stack.clock.advance(step)
        assert (await stack.client.get("/v1/users/me", headers=victim.headers)).status_code == 200
    stack.clock.advance(step - timedelta(seconds=1))
    assert (await stack.client.get("/v1/users/me", headers=victim.headers)).status_code == 200
    stack.clock.advance(timedelta(seconds=1))

    assert_unauthenticated(await stack.client.get("/v1/users/me", headers=victim.headers))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: t[:-1],
        lambda t: t.upper(),
        lambda t: t[::-1],
        lambda t: t + t,
        lambda t: "x" * 10_000,
        lambda t: t.replace(t[0], "%00", 1),
    ],
    ids=["appended", "truncated", "upper-cased", "reversed", "doubled", "huge", "nul"],
)
async def test_a_near_miss_of_a_token_is_no_token(
    stack: Stack, mangle: Callable[[str], str]
) -> None:
    victim = await stack.register()

    response = await stack.client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {mangle(victim.token)}"}
    )

    assert_unauthenticated(response)


@pytest.mark.parametrize(
    "header",
    ["Basic {token}", "Token {token}", "{token}", "Bearer", "Bearer ", "Bearer\t{token}x"],
)
async def test_only_the_bearer_scheme_carries_a_token(stack: Stack, header: str) -> None:
    victim = await stack.register()

    response = await stack.client.get(
        "/v1/users/me", headers={"Authorization": header.format(token=victim.token)}
    )

    assert_unauthenticated(response)


# --- registration tokens --------------------------------------------------------------


async def start(stack: Stack, name: str) -> str:
    response = await stack.client.post(
        "/v1/registrations",
        json={
            "email": f"{name}@example.org",
            "username": name,
            "full_name": name.title(),
            "password": PASSWORD,
        },
    )
    assert response.status_code == 202, response.text
    token: str = response.json()["registration_token"]
    return token


async def confirm(stack: Stack, token: str, code: str) -> httpx.Response:
    return await stack.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})


async def test_a_code_confirms_only_its_own_registration(stack: Stack) -> None:
    ann, bob = await start(stack, "ann"), await start(stack, "bob")
    ann_code = await stack.code_for("ann@example.org")
    bob_code = await stack.code_for("bob@example.org")
    if ann_code == bob_code:  # one in a million; the swap below would prove nothing
        pytest.skip("both registrations drew the same code")

    swapped = [await confirm(stack, ann, bob_code), await confirm(stack, bob, ann_code)]

    assert [r.json()["code"] for r in swapped] == ["invalid_code", "invalid_code"]
    confirmed = await confirm(stack, ann, ann_code)
    assert confirmed.status_code == 201
    assert confirmed.json()["user"]["email"] == "ann@example.org"
    assert confirmed.json()["user"]["username"] == "ann"


async def test_a_registration_token_is_single_use(stack: Stack) -> None:
    token = await start(stack, "carol")
    code = await stack.code_for("carol@example.org")
    assert (await confirm(stack, token, code)).status_code == 201

    again = await confirm(stack, token, code)

    assert again.status_code == 404
    assert again.json()["code"] == "registration_not_found"
    users = await stack.client.get(
        "/v1/users", params={"q": "carol"}, headers=(await stack.admin()).headers
    )
    assert len(users.json()["items"]) == 1


async def test_a_registration_token_expires(stack: Stack) -> None:
    token = await start(stack, "dave")
    code = await stack.code_for("dave@example.org")
    stack.clock.advance(stack.settings.registration_ttl)

    late = await confirm(stack, token, code)

    assert late.status_code == 404
    assert late.json()["code"] == "registration_not_found"
    assert (await stack.login("dave")).status_code == 401


# --- recovery tokens ----------------------------------------------------------------


async def recovery_token(stack: Stack, client: Account) -> str:
    asked = await stack.client.post("/v1/password-recovery", json={"email": client.email})
    assert asked.status_code == 202
    return await stack.recovery_token_for(client.email)


async def recover(stack: Stack, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await stack.client.post(f"/v1/password-recovery/{token}", json={"password": password})


async def test_a_recovery_token_is_single_use(stack: Stack) -> None:
    victim = await stack.register()
    token = await recovery_token(stack, victim)
    assert (await recover(stack, token)).status_code == 204

    again = await recover(stack, token, "an attacker's password")

    assert again.status_code == 404
    assert again.json()["code"] == "recovery_token_invalid"
    assert (await stack.login(victim.username, NEW_PASSWORD)).status_code == 201
    assert (await stack.login(victim.username, "an attacker's password")).status_code == 401


async def test_a_recovery_token_expires_after_an_hour(stack: Stack) -> None:
    victim = await stack.register()
    token = await recovery_token(stack, victim)
    stack.clock.advance(timedelta(hours=1))

    late = await recover(stack, token)

    assert late.status_code == 404
    assert late.json()["code"] == "recovery_token_invalid"
    assert (await stack.login(victim.username, PASSWORD)).status_code == 201


async def test_a_recovery_token_changes_only_its_own_users_password(stack: Stack) -> None:
    victim, bystander = await stack.register(), await stack.register()
    token = await recovery_token(stack, victim)

    assert (await recover(stack, token)).status_code == 204

    assert (await stack.login(bystander.username, PASSWORD)).status_code == 201
    assert (await stack.login(bystander.username, NEW_PASSWORD)).status_code == 401
    assert await probe(stack, bystander.token) == {200}
    assert (await stack.login(victim.username, NEW_PASSWORD)).status_code == 201


async def test_a_recovery_token_dies_with_its_account(stack: Stack) -> None:
    victim = await stack.register()
    token = await recovery_token(stack, victim)
    deleted = await stack.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=victim.headers
    )
    assert deleted.status_code == 204

    late = await recover(stack, token)

    assert late.status_code == 404
    assert (await stack.login(victim.username, NEW_PASSWORD)).status_code == 401


# --- no token stands in for another kind ---------------------------------------------


async def test_no_kind_of_token_is_accepted_as_another(stack: Stack) -> None:
    victim = await stack.register()
    registration = await start(stack, "erin")
    recovery = await recovery_token(stack, victim)

    as_bearer = [
        await stack.client.get("/v1/users/me", headers={"Authorization": f"Bearer {t}"})
        for t in (registration, recovery)
    ]
    as_recovery = [await recover(stack, t) for t in (victim.token, registration)]
    code = await stack.code_for("erin@example.org")
    as_registration = [await confirm(stack, t, code) for t in (victim.token, recovery)]

    for response in as_bearer:
        assert_unauthenticated(response)
    assert [r.status_code for r in as_recovery] == [404, 404]
    assert [r.status_code for r in as_registration] == [404, 404]
    assert (await stack.login(victim.username, PASSWORD)).status_code == 201
