"""Two-factor login and the audit log over HTTP, as a client sees them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pyotp

from afisha_core.settings import Settings
from tests.support.http import PASSWORD, Account, Api, assert_problem, assert_rfc3339, open_api
from tests.support.world import World

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(24)
STEP = timedelta(seconds=30)
RECOVERY_LINK = re.compile(r"/password-recovery/([A-Za-z0-9_-]+)")


def now_code(api: Api, secret: str) -> str:
    """The code an authenticator app (pyotp) shows at the world's time."""
    return pyotp.TOTP(secret).at(api.world.clock.now())


async def turn_on_totp(api: Api, account: Account) -> tuple[str, list[str]]:
    """Enrol and confirm over HTTP; return the secret and the recovery codes."""
    enrolled = await api.client.post(
        "/v1/users/me/totp", json={"password": account.password}, headers=account.headers
    )
    assert enrolled.status_code == 201, enrolled.text
    secret = enrolled.json()["secret"]
    confirmed = await api.client.post(
        "/v1/users/me/totp/confirm", json={"code": now_code(api, secret)}, headers=account.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    api.world.clock.advance(STEP)
    return secret, confirmed.json()["recovery_codes"]


async def login(api: Api, name: str, code: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"login": name, "password": PASSWORD}
    if code is not None:
        body["totp_code"] = code
    return await api.client.post("/v1/sessions", json=body)


async def test_two_factor_login_from_enrolment_to_disabling(api: Api) -> None:
    me = await api.register()
    wrong = await api.client.post(
        "/v1/users/me/totp", json={"password": "not it at all"}, headers=me.headers
    )
    assert_problem(wrong, 403, "invalid_credentials")
    enrolled = await api.client.post(
        "/v1/users/me/totp", json={"password": PASSWORD}, headers=me.headers
    )
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert set(body) == {"secret", "otpauth_uri"}
    secret = body["secret"]
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == secret
    bad = await api.client.post(
        "/v1/users/me/totp/confirm", json={"code": "12345"}, headers=me.headers
    )
    assert_problem(bad, 422, "validation_error")
    good = now_code(api, secret)
    wrong_code = "000000" if good != "000000" else "111111"
    refused = await api.client.post(
        "/v1/users/me/totp/confirm", json={"code": wrong_code}, headers=me.headers
    )
    assert_problem(refused, 403, "invalid_totp")  # 403: the session is fine
    confirmed = await api.client.post(
        "/v1/users/me/totp/confirm", json={"code": good}, headers=me.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    profile = (await api.client.get("/v1/users/me", headers=me.headers)).json()
    assert profile["totp_enabled"] is True
    assert secret not in str(profile)
    api.world.clock.advance(STEP)

    missing = await login(api, me.username)
    assert_problem(missing, 401, "totp_required")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_problem(await login(api, me.username, wrong_code), 401, "invalid_totp")
    code = now_code(api, secret)
    accepted = await login(api, me.username, code)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["user"]["totp_enabled"] is True
    assert_problem(await login(api, me.username, code), 401, "invalid_totp")  # replay
    assert (await login(api, me.username, codes[0])).status_code == 201
    assert_problem(await login(api, me.username, codes[0]), 401, "invalid_totp")

    api.world.clock.advance(STEP)
    no_password = await api.client.request(
        "DELETE",
        "/v1/users/me/totp",
        json={"password": "wrong password", "code": now_code(api, secret)},
        headers=me.headers,
    )
    assert_problem(no_password, 403, "invalid_credentials")
    disabled = await api.client.request(
        "DELETE",
        "/v1/users/me/totp",
        json={"password": PASSWORD, "code": now_code(api, secret)},
        headers=me.headers,
    )
    assert disabled.status_code == 204, disabled.text
    assert (await login(api, me.username)).status_code == 201
    profile = (await api.client.get("/v1/users/me", headers=me.headers)).json()
    assert profile["totp_enabled"] is False


async def test_the_secret_is_never_in_a_response_after_enrolment(api: Api) -> None:
    me = await api.register()
    secret, codes = await turn_on_totp(api, me)
    fresh = await login(api, me.username, now_code(api, secret))
    token = fresh.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    paths = ("/v1/users/me", "/v1/sessions", "/v1/notifications", "/v1/users/me/events")
    seen = [fresh.text] + [(await api.client.get(p, headers=headers)).text for p in paths]
    again = await api.client.post("/v1/users/me/totp", json={"password": PASSWORD}, headers=headers)
    assert_problem(again, 409, "totp_already_enabled")
    seen.append(again.text)
    for text in seen:
        assert secret not in text
        assert not any(code in text for code in codes)


async def test_required_admin_totp_blocks_admin_endpoints_until_enabled() -> None:
    world = World(settings=Settings(require_admin_totp=True))
    async with open_api(world) as api:
        admin = await api.admin()
        blocked = await api.client.get("/v1/users", headers=admin.headers)
        assert_problem(blocked, 403, "totp_setup_required")
        created = await api.client.post(
            "/v1/events",
            json={"name": "x", "starts_at": "2031-01-01T10:00:00+00:00",
                  "ends_at": "2031-01-01T11:00:00+00:00"},
            headers=admin.headers,
        )  # fmt: skip
        assert_problem(created, 403, "totp_setup_required")
        # ordinary endpoints still work, and so does turning TOTP on
        assert (await api.client.get("/v1/users/me", headers=admin.headers)).status_code == 200
        await turn_on_totp(api, admin)
        assert (await api.client.get("/v1/users", headers=admin.headers)).status_code == 200
        # a plain user is unaffected (and still gets 403 forbidden for admin endpoints)
        user = await api.register()
        assert_problem(await api.client.get("/v1/users", headers=user.headers), 403, "forbidden")


async def test_without_the_setting_an_admin_needs_no_totp(api: Api) -> None:
    admin = await api.admin()
    assert (await api.client.get("/v1/users", headers=admin.headers)).status_code == 200


# --- the audit log ---------------------------------------------------------------------------


async def audit(api: Api, admin: Account, **params: str) -> list[dict[str, Any]]:
    """Every entry of GET /v1/audit-log (all pages), newest first."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "3", **({"cursor": cursor} if cursor else {})}
        response = await api.client.get("/v1/audit-log", params=query, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_a_full_admin_scenario_is_in_the_audit_log_in_order(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    victim = await api.register()
    tick = timedelta(seconds=1)
    expected: list[tuple[str, str | None, str | None]] = []  # action, actor, target

    event = await api.create_event(admin)
    expected.append(("event.created", admin.id, event["id"]))
    api.world.clock.advance(tick)
    patched = await api.client.patch(
        f"/v1/events/{event['id']}", json={"name": "Renamed"}, headers=admin.headers
    )
    assert patched.status_code == 200
    expected.append(("event.updated", admin.id, event["id"]))
    api.world.clock.advance(tick)
    image = await api.client.put(
        f"/v1/events/{event['id']}/image",
        content=PNG,
        headers={**admin.headers, "Content-Type": "image/png"},
    )
    assert image.status_code == 200, image.text
    expected.append(("event.image_set", admin.id, event["id"]))
    api.world.clock.advance(tick)
    rejected = await api.client.post(f"/v1/events/{event['id']}/reject", headers=admin.headers)
    assert rejected.status_code == 200
    expected.append(("event.cancelled", admin.id, event["id"]))
    api.world.clock.advance(tick)
    promoted = await api.client.patch(
        f"/v1/users/{user.id}", json={"role": "ADMINISTRATOR"}, headers=admin.headers
    )
    assert promoted.status_code == 200
    expected.append(("user.role_changed", admin.id, user.id))
    api.world.clock.advance(tick)
    deleted = await api.client.delete(f"/v1/users/{victim.id}", headers=admin.headers)
    assert deleted.status_code == 204
    expected.append(("user.deleted", admin.id, victim.id))
    api.world.clock.advance(tick)
    assert (await api.client.post(
        "/v1/sessions", json={"login": user.username, "password": "wrong guess"}
    )).status_code == 401  # fmt: skip
    expected.append(("login.failed", None, user.id))
    api.world.clock.advance(tick)
    second = (await login(api, user.username)).json()
    revoked = await api.client.delete(
        f"/v1/sessions/{second['session']['uid']}", headers=user.headers
    )
    assert revoked.status_code == 204
    expected.append(("sessions.revoked", user.id, second["session"]["uid"]))
    api.world.clock.advance(tick)
    changed = await api.client.post(
        "/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers=user.headers,
    )
    assert changed.status_code == 204
    expected.append(("password.changed", user.id, user.id))
    api.world.clock.advance(tick)
    user.password = "another long passphrase"
    await turn_on_totp(api, user)
    expected.append(("totp.enabled", user.id, user.id))
    api.world.clock.advance(tick)
    gone = await api.client.request(
        "DELETE", "/v1/users/me", json={"password": user.password}, headers=user.headers
    )
    assert gone.status_code == 204
    expected.append(("account.deleted", user.id, user.id))

    entries = await audit(api, admin)
    got = [(e["action"], e["actor_id"], e["target_id"]) for e in entries]
    assert got == list(reversed(expected))
    for entry in entries:
        assert set(entry) == {"id", "at", "actor_id", "action", "target_type", "target_id",
                              "ip", "details"}  # fmt: skip
        assert entry["ip"] == "127.0.0.1"
        assert_rfc3339(entry, "at")
    by_action = {e["action"]: e for e in entries}
    assert by_action["user.role_changed"]["details"] == {"from": "USER", "to": "ADMINISTRATOR"}
    assert by_action["event.updated"]["details"] == {"fields": "name"}
    assert by_action["login.failed"]["details"] == {"reason": "password"}
    assert by_action["user.deleted"]["target_type"] == "user"
    assert by_action["event.created"]["target_type"] == "event"
    text = str(entries)
    for secret in (PASSWORD, "another long passphrase", user.email, victim.email):
        assert secret not in text

    # filters
    mine = await audit(api, admin, actor_id=admin.id)
    assert {e["actor_id"] for e in mine} == {admin.id}
    assert len(mine) == 6
    assert [e["action"] for e in await audit(api, admin, action="user.deleted")] == ["user.deleted"]
    about_event = await audit(api, admin, target_id=event["id"])
    assert len(about_event) == 4
    enabled_at = by_action["totp.enabled"]["at"]
    recent = await audit(api, admin, **{"from": enabled_at})
    assert [e["action"] for e in recent] == ["account.deleted", "totp.enabled"]
    earlier = await audit(api, admin, to=enabled_at)
    assert len(earlier) == len(expected) - 2


async def test_the_audit_log_is_for_administrators_and_checks_its_query(api: Api) -> None:
    user = await api.register()
    assert_problem(await api.client.get("/v1/audit-log", headers=user.headers), 403, "forbidden")
    assert_problem(await api.client.get("/v1/audit-log"), 401, "not_authenticated")
    admin = await api.admin()
    for params in ({"actor_id": "nope"}, {"action": "event.exploded"}, {"limit": "0"},
                   {"cursor": "!!"}, {"from": "2030-01-01T00:00:00"}):  # fmt: skip
        response = await api.client.get("/v1/audit-log", params=params, headers=admin.headers)
        assert_problem(response, 422, "validation_error")


async def test_a_password_reset_is_audited(api: Api) -> None:
    admin = await api.admin()
    me = await api.register()
    assert (
        await api.client.post("/v1/password-recovery", json={"email": me.email})
    ).status_code == 202
    await api.world.deliver()
    link = next(m for m in reversed(api.world.mailer.sent) if m.to == me.email)
    token = RECOVERY_LINK.search(link.text)
    assert token is not None
    done = await api.client.post(
        f"/v1/password-recovery/{token.group(1)}", json={"password": "a fresh long passphrase"}
    )
    assert done.status_code == 204, done.text
    entries = await audit(api, admin, target_id=me.id)
    assert [e["action"] for e in entries] == ["password.reset"]
    assert entries[0]["details"] == {"sessions_revoked": 1}
