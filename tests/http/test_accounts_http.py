"""Accounts over HTTP: registration, login, sessions, recovery, profile, deletion, admin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from afisha_core.settings import Settings
from tests.support.http import PASSWORD, Account, Api, assert_problem, assert_rfc3339, open_api
from tests.support.world import World

USER_FIELDS = {"id", "email", "username", "full_name", "role", "is_system", "created_at"}
SESSION_FIELDS = {"uid", "user_agent", "created_at", "last_seen_at", "expires_at", "current"}
NEW_PASSWORD = "a brand new secret"
RECOVERY_LINK = re.compile(r"https?://[^\s\"'<>]+/password-recovery/([A-Za-z0-9_-]+)")


def assert_user(body: dict[str, Any]) -> None:
    """A User document: the fields of the HTTP contract and never a secret."""
    assert set(body) >= USER_FIELDS, body
    assert body["role"] in ("USER", "ADMINISTRATOR")
    assert body["created_at"] is not None
    assert_rfc3339(body, "created_at")
    assert not any("password" in key or "token" in key or "hash" in key for key in body), body


def assert_retry_after(response: httpx.Response) -> int:
    """``Retry-After`` is a positive number of seconds."""
    value = response.headers.get("retry-after")
    assert value is not None, response.headers
    assert value.isdigit(), value
    assert int(value) >= 1
    return int(value)


async def status_of(api: Api, account: Account) -> int:
    """The status of GET /v1/users/me with the account's token."""
    return (await api.client.get("/v1/users/me", headers=account.headers)).status_code


# --- registration ---------------------------------------------------------------------


async def test_registration_is_confirmed_with_the_mailed_code(api: Api) -> None:
    started = await api.start_registration("Ann@Example.org", "ann")
    assert started.status_code == 202
    token = started.json()["registration_token"]
    assert isinstance(token, str)
    assert token

    code = await api.code_for("ann@example.org")
    confirmed = await api.client.post(
        f"/v1/registrations/{token}/confirm",
        json={"code": code},
        headers={"User-Agent": "phone-app/1.0"},
    )

    assert confirmed.status_code == 201, confirmed.text
    body = confirmed.json()
    assert set(body) >= {"user", "token", "session"}
    assert_user(body["user"])
    assert body["user"]["email"] == "ann@example.org"
    assert body["user"]["username"] == "ann"
    assert body["user"]["full_name"] == "Test Person"
    assert body["user"]["role"] == "USER"
    assert body["user"]["is_system"] is False
    assert set(body["session"]) >= SESSION_FIELDS
    assert body["session"]["current"] is True
    assert body["session"]["user_agent"] == "phone-app/1.0"
    me = await api.client.get("/v1/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_a_confirmed_registration_cannot_be_confirmed_again(api: Api) -> None:
    started = await api.start_registration("once@example.org", "once")
    token = started.json()["registration_token"]
    code = await api.code_for("once@example.org")
    first = await api.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})
    assert first.status_code == 201

    again = await api.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})

    assert_problem(again, 404, "registration_not_found")


async def test_a_wrong_code_is_invalid_code_and_the_right_one_still_works(api: Api) -> None:
    started = await api.start_registration("bob@example.org", "bob")
    token = started.json()["registration_token"]
    code = await api.code_for("bob@example.org")
    wrong = "000000" if code != "000000" else "111111"

    response = await api.client.post(f"/v1/registrations/{token}/confirm", json={"code": wrong})

    assert_problem(response, 422, "invalid_code")
    ok = await api.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})
    assert ok.status_code == 201


async def test_five_wrong_codes_kill_the_registration(api: Api) -> None:
    started = await api.start_registration("carl@example.org", "carl")
    token = started.json()["registration_token"]
    code = await api.code_for("carl@example.org")
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/registrations/{token}/confirm"

    answers = [await api.client.post(url, json={"code": wrong}) for _ in range(5)]

    for response in answers[:4]:
        assert_problem(response, 422, "invalid_code")
    last = assert_problem(answers[4], answers[4].status_code, "too_many_attempts")
    assert 400 <= last["status"] < 500
    after = await api.client.post(url, json={"code": code})
    assert after.status_code != 201
    assert after.json()["code"] in ("too_many_attempts", "registration_not_found")


async def test_an_expired_registration_is_not_found(api: Api) -> None:
    started = await api.start_registration("late@example.org", "late")
    token = started.json()["registration_token"]
    code = await api.code_for("late@example.org")
    api.world.clock.advance(timedelta(minutes=16))

    response = await api.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})

    assert_problem(response, 404, "registration_not_found")


async def test_an_unknown_registration_token_is_not_found(api: Api) -> None:
    response = await api.client.post(
        "/v1/registrations/no-such-token/confirm", json={"code": "123456"}
    )

    assert_problem(response, 404, "registration_not_found")


async def test_a_fourth_registration_per_email_and_hour_is_rate_limited(api: Api) -> None:
    for n in range(3):
        ok = await api.start_registration("dora@example.org", f"dora{n}")
        assert ok.status_code == 202

    limited = await api.start_registration("dora@example.org", "dora9")

    assert_problem(limited, 429, "rate_limited")
    assert assert_retry_after(limited) <= 3600
    api.world.clock.advance(timedelta(hours=1, seconds=1))
    assert (await api.start_registration("dora@example.org", "dora9")).status_code == 202


async def test_a_taken_username_is_refused(api: Api) -> None:
    await api.register(username="taken")

    response = await api.start_registration("someone@example.org", "taken")

    assert_problem(response, 409, "username_taken")


async def test_a_second_pending_registration_of_a_now_taken_email_is_email_taken(
    api: Api,
) -> None:
    first = await api.start_registration("twice@example.org", "twice1")
    first_code = await api.code_for("twice@example.org")
    second = await api.start_registration("twice@example.org", "twice2")
    second_code = await api.code_for("twice@example.org")
    confirmed = await api.client.post(
        f"/v1/registrations/{first.json()['registration_token']}/confirm",
        json={"code": first_code},
    )
    assert confirmed.status_code == 201

    response = await api.client.post(
        f"/v1/registrations/{second.json()['registration_token']}/confirm",
        json={"code": second_code},
    )

    assert_problem(response, 409, "email_taken")


async def test_registering_a_known_email_answers_the_same_but_mails_no_code(api: Api) -> None:
    account = await api.register()

    response = await api.start_registration(account.email, "newname")

    assert response.status_code == 202
    mails = await api.world.deliver()
    assert [m.to for m in mails] == [account.email]
    assert not re.search(r"\b\d{6}\b", mails[0].subject + mails[0].text)


@pytest.mark.parametrize("password", ["short", "password1", "aaaaaaaaaaaa"])
async def test_a_weak_password_is_refused(api: Api, password: str) -> None:
    response = await api.start_registration("weak@example.org", "weak", password=password)

    body = assert_problem(response, 422, "weak_password")
    assert [e["field"] for e in body["errors"]] == ["password"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "x@example.org"}, {"username", "full_name", "password"}),
        (
            {
                "email": "not-an-email",
                "username": "ok_name",
                "full_name": "X",
                "password": PASSWORD,
            },
            {"email"},
        ),
        (
            {
                "email": "x@example.org",
                "username": "Bad Name",
                "full_name": "X",
                "password": PASSWORD,
            },
            {"username"},
        ),
        (
            {
                "email": "x@example.org",
                "username": "okname",
                "full_name": " ",
                "password": PASSWORD,
            },
            {"full_name"},
        ),
        (
            {"email": 42, "username": "okname", "full_name": "X", "password": PASSWORD},
            {"email"},
        ),
        (
            {
                "email": "x@example.org",
                "username": "okname",
                "full_name": "X",
                "password": PASSWORD,
                "role": "ADMINISTRATOR",
            },
            {"role"},
        ),
    ],
)
async def test_invalid_registrations_name_each_field(
    api: Api, body: dict[str, Any], fields: set[str]
) -> None:
    response = await api.client.post("/v1/registrations", json=body)

    problem = assert_problem(response, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == fields
    assert all(e["message"] for e in problem["errors"])


# --- login --------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["username", "email"])
async def test_login_by_username_or_email(api: Api, by: str) -> None:
    account = await api.register()

    response = await api.client.post(
        "/v1/sessions",
        json={
            "login": account.username if by == "username" else account.email.upper(),
            "password": PASSWORD,
        },
        headers={"User-Agent": "cli/2"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["id"] == account.id
    assert_user(body["user"])
    assert set(body["session"]) >= SESSION_FIELDS
    assert body["session"]["user_agent"] == "cli/2"
    assert body["token"] != account.token
    me = await api.client.get("/v1/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200


async def test_login_failures_are_identical_for_unknown_wrong_and_deleted(api: Api) -> None:
    alive = await api.register()
    gone = await api.register()
    deleted = await api.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=gone.headers
    )
    assert deleted.status_code == 204

    answers = [
        await api.login("nobody-here", PASSWORD),
        await api.login(alive.username, "not the password"),
        await api.login(gone.username, PASSWORD),
        await api.login(gone.email, PASSWORD),
    ]

    bodies = [assert_problem(r, 401, "invalid_credentials") for r in answers]
    assert all(body == bodies[0] for body in bodies), bodies
    assert len({r.headers.get("www-authenticate") for r in answers}) == 1


async def test_repeated_failed_logins_are_rate_limited(api: Api) -> None:
    account = await api.register()
    for _ in range(10):
        assert_problem(await api.login(account.username, "wrong password!"), 401)

    limited = await api.login(account.username, PASSWORD)

    assert_problem(limited, 429, "rate_limited")
    assert assert_retry_after(limited) <= 15 * 60
    api.world.clock.advance(timedelta(minutes=15, seconds=1))
    assert (await api.login(account.username, PASSWORD)).status_code == 201


# --- sessions -----------------------------------------------------------------------


async def test_sessions_are_listed_with_the_current_one_marked(api: Api) -> None:
    account = await api.register()
    second = await api.login_account(account)

    response = await api.client.get("/v1/sessions", headers=second.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    assert len(body["items"]) == 2
    for item in body["items"]:
        assert set(item) >= SESSION_FIELDS
        assert "token" not in item
    assert [item["current"] for item in body["items"]].count(True) == 1


async def test_sessions_are_listed_in_pages_and_bad_paging_is_422(api: Api) -> None:
    account = await api.register()
    for _ in range(2):
        await api.login_account(account)

    first = await api.client.get("/v1/sessions?limit=2", headers=account.headers)
    assert first.status_code == 200
    assert len(first.json()["items"]) == 2
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    rest = await api.client.get(
        "/v1/sessions", params={"limit": 2, "cursor": cursor}, headers=account.headers
    )
    assert rest.status_code == 200
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    uids = {i["uid"] for i in first.json()["items"]} | {i["uid"] for i in rest.json()["items"]}
    assert len(uids) == 3
    for query in ("limit=0", "limit=101", "cursor=not-a-cursor"):
        response = await api.client.get(f"/v1/sessions?{query}", headers=account.headers)
        assert_problem(response, 422, "validation_error")


async def test_revoking_one_session_stops_only_its_token(api: Api) -> None:
    account = await api.register()
    other = await api.login_account(account)
    listed = (await api.client.get("/v1/sessions", headers=other.headers)).json()["items"]
    other_uid = next(item["uid"] for item in listed if item["current"])

    response = await api.client.delete(f"/v1/sessions/{other_uid}", headers=account.headers)

    assert response.status_code == 204
    assert await status_of(api, other) == 401
    assert await status_of(api, account) == 200
    left = (await api.client.get("/v1/sessions", headers=account.headers)).json()["items"]
    assert other_uid not in {item["uid"] for item in left}
    again = await api.client.delete(f"/v1/sessions/{other_uid}", headers=account.headers)
    assert_problem(again, 404, "not_found")


async def test_logging_out_stops_the_calling_token(api: Api) -> None:
    account = await api.register()
    other = await api.login_account(account)

    response = await api.client.delete("/v1/sessions/current", headers=account.headers)

    assert response.status_code == 204
    assert await status_of(api, account) == 401
    assert await status_of(api, other) == 200


async def test_another_users_session_is_not_found(api: Api) -> None:
    owner = await api.register()
    stranger = await api.register()
    listed = (await api.client.get("/v1/sessions", headers=owner.headers)).json()["items"]

    response = await api.client.delete(f"/v1/sessions/{listed[0]['uid']}", headers=stranger.headers)

    assert_problem(response, 404, "not_found")
    assert await status_of(api, owner) == 200


@pytest.mark.parametrize("uid", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
async def test_an_unknown_session_is_not_found(api: Api, uid: str) -> None:
    account = await api.register()

    response = await api.client.delete(f"/v1/sessions/{uid}", headers=account.headers)

    assert_problem(response, 404, "not_found")


async def test_an_expired_session_is_unauthenticated(api: Api) -> None:
    account = await api.register()
    api.world.clock.advance(timedelta(days=30, seconds=1))

    response = await api.client.get("/v1/users/me", headers=account.headers)

    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


# --- password recovery --------------------------------------------------------------


async def recovery_token(world: World, email: str) -> tuple[str, str]:
    """Deliver the mail and return (the recovery link, its token)."""
    mails = [m for m in await world.deliver() if m.to == email]
    assert mails, f"no recovery mail to {email}"
    match = RECOVERY_LINK.search(mails[-1].text)
    assert match is not None, mails[-1].text
    return match.group(0), match.group(1)


async def test_recovery_mails_a_link_on_the_public_url_and_sets_a_new_password() -> None:
    world = World(settings=Settings(public_url="https://afisha.example.org/"))
    async with open_api(world) as api:
        account = await api.register()
        second = await api.login_account(account)

        accepted = await api.client.post("/v1/password-recovery", json={"email": account.email})
        assert accepted.status_code == 202
        link, token = await recovery_token(world, account.email)
        assert link.startswith("https://afisha.example.org/")

        done = await api.client.post(
            f"/v1/password-recovery/{token}", json={"password": NEW_PASSWORD}
        )

        assert done.status_code == 204
        assert await status_of(api, account) == 401
        assert await status_of(api, second) == 401
        assert_problem(await api.login(account.username, PASSWORD), 401, "invalid_credentials")
        assert (await api.login(account.username, NEW_PASSWORD)).status_code == 201
        reused = await api.client.post(
            f"/v1/password-recovery/{token}", json={"password": "yet another secret"}
        )
        assert_problem(reused, 404, "recovery_token_invalid")


async def test_recovery_answers_the_same_for_an_unknown_email(api: Api) -> None:
    account = await api.register()

    known = await api.client.post("/v1/password-recovery", json={"email": account.email})
    unknown = await api.client.post("/v1/password-recovery", json={"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    mailed = await api.world.deliver()
    assert sorted(m.to for m in mailed) == sorted([account.email, "nobody@example.org"])
    links = [m.to for m in mailed if "/password-recovery/" in m.text]
    assert links == [account.email]


async def test_recovery_with_an_unknown_or_expired_token_is_refused(api: Api) -> None:
    account = await api.register()
    await api.client.post("/v1/password-recovery", json={"email": account.email})
    _link, token = await recovery_token(api.world, account.email)
    api.world.clock.advance(timedelta(hours=1, seconds=1))

    expired = await api.client.post(
        f"/v1/password-recovery/{token}", json={"password": NEW_PASSWORD}
    )
    unknown = await api.client.post(
        "/v1/password-recovery/not-a-real-token", json={"password": NEW_PASSWORD}
    )

    assert_problem(expired, 404, "recovery_token_invalid")
    assert_problem(unknown, 404, "recovery_token_invalid")


async def test_recovery_with_a_weak_password_keeps_the_token_usable(api: Api) -> None:
    account = await api.register()
    await api.client.post("/v1/password-recovery", json={"email": account.email})
    _link, token = await recovery_token(api.world, account.email)

    weak = await api.client.post(f"/v1/password-recovery/{token}", json={"password": "short"})

    assert_problem(weak, 422, "weak_password")
    ok = await api.client.post(f"/v1/password-recovery/{token}", json={"password": NEW_PASSWORD})
    assert ok.status_code == 204


async def test_recovery_requests_are_validated_and_always_accepted(api: Api) -> None:
    malformed = await api.client.post("/v1/password-recovery", json={"email": "nope"})
    body = assert_problem(malformed, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["email"]

    for _ in range(5):  # past the per-email limit too: the contract says 202 always
        ok = await api.client.post("/v1/password-recovery", json={"email": "r@example.org"})
        assert ok.status_code == 202


# --- users/me -----------------------------------------------------------------------


async def test_get_me_is_the_callers_user(api: Api) -> None:
    account = await api.register()

    response = await api.client.get("/v1/users/me", headers=account.headers)

    assert response.status_code == 200
    assert_user(response.json())
    assert response.json() == account.user


async def test_patch_me_changes_name_and_username(api: Api) -> None:
    account = await api.register()

    response = await api.client.patch(
        "/v1/users/me",
        json={"full_name": "Anna Karenina", "username": "anna.k"},
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Anna Karenina"
    assert response.json()["username"] == "anna.k"
    assert (await api.client.get("/v1/users/me", headers=account.headers)).json() == response.json()
    assert (await api.login("anna.k")).status_code == 201


async def test_patch_me_with_a_taken_username_is_a_conflict(api: Api) -> None:
    await api.register(username="first")
    account = await api.register()

    response = await api.client.patch(
        "/v1/users/me", json={"username": "first"}, headers=account.headers
    )

    assert_problem(response, 409, "username_taken")
    assert (await api.client.get("/v1/users/me", headers=account.headers)).json() == account.user


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "No Spaces"}, "username"),
        ({"full_name": ""}, "full_name"),
        ({"email": "new@example.org"}, "email"),
    ],
)
async def test_patch_me_validates_fields(api: Api, body: dict[str, Any], field: str) -> None:
    account = await api.register()

    response = await api.client.patch("/v1/users/me", json=body, headers=account.headers)

    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == [field]


# --- password change and deletion ---------------------------------------------------


async def test_password_change_revokes_other_sessions_only(api: Api) -> None:
    account = await api.register()
    other = await api.login_account(account)

    response = await api.client.post(
        "/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=account.headers,
    )

    assert response.status_code == 204
    assert await status_of(api, account) == 200
    assert await status_of(api, other) == 401
    assert (await api.login(account.username, NEW_PASSWORD)).status_code == 201
    assert_problem(await api.login(account.username, PASSWORD), 401, "invalid_credentials")


async def test_password_change_with_a_wrong_current_password_changes_nothing(api: Api) -> None:
    account = await api.register()
    other = await api.login_account(account)

    response = await api.client.post(
        "/v1/users/me/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=account.headers,
    )

    # 403, never 401: the caller's token is fine (clients log out on a 401).
    assert_problem(response, 403, "invalid_credentials")
    assert "www-authenticate" not in response.headers
    assert await status_of(api, account) == 200
    assert await status_of(api, other) == 200
    assert (await api.login(account.username, PASSWORD)).status_code == 201


async def test_password_change_to_a_weak_password_names_new_password(api: Api) -> None:
    account = await api.register()

    response = await api.client.post(
        "/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=account.headers,
    )

    problem = assert_problem(response, 422, "weak_password")
    assert [e["field"] for e in problem["errors"]] == ["new_password"]


async def test_deleting_oneself_ends_every_session_and_frees_the_email(api: Api) -> None:
    account = await api.register()
    other = await api.login_account(account)

    response = await api.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=account.headers
    )

    assert response.status_code == 204
    assert await status_of(api, account) == 401
    assert await status_of(api, other) == 401
    assert_problem(await api.login(account.username), 401, "invalid_credentials")
    again = await api.register(email=account.email, username=account.username)
    assert again.id != account.id


async def test_deleting_oneself_needs_the_password(api: Api) -> None:
    account = await api.register()

    wrong = await api.client.request(
        "DELETE", "/v1/users/me", json={"password": "not my password"}, headers=account.headers
    )
    missing = await api.client.delete("/v1/users/me", headers=account.headers)

    assert_problem(wrong, 403, "invalid_credentials")
    assert 400 <= missing.status_code < 500
    assert await status_of(api, account) == 200


# --- administration -----------------------------------------------------------------


async def test_admin_lists_users_with_filters_and_pages(api: Api) -> None:
    admin = await api.admin()
    users = [await api.register() for _ in range(3)]

    everyone = await api.client.get("/v1/users", headers=admin.headers)
    admins = await api.client.get(
        "/v1/users", params={"role": "ADMINISTRATOR"}, headers=admin.headers
    )
    found = await api.client.get(
        "/v1/users", params={"q": users[1].username}, headers=admin.headers
    )

    assert everyone.status_code == 200
    ids = [u["id"] for u in everyone.json()["items"]]
    assert set(ids) == {admin.id, *(u.id for u in users)}
    for item in everyone.json()["items"]:
        assert_user(item)
    assert [u["id"] for u in admins.json()["items"]] == [admin.id]
    assert [u["id"] for u in found.json()["items"]] == [users[1].id]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/v1/users", params=params, headers=admin.headers)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_admin_promotes_a_user(api: Api) -> None:
    admin = await api.admin()
    account = await api.register()

    response = await api.client.patch(
        f"/v1/users/{account.id}", json={"role": "ADMINISTRATOR"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "ADMINISTRATOR"
    assert (await api.client.get("/v1/users", headers=account.headers)).status_code == 200


async def test_admin_deletes_a_user(api: Api) -> None:
    admin = await api.admin()
    account = await api.register()

    response = await api.client.delete(f"/v1/users/{account.id}", headers=admin.headers)

    assert response.status_code == 204
    assert await status_of(api, account) == 401
    assert_problem(await api.login(account.username), 401, "invalid_credentials")
    listed = (await api.client.get("/v1/users", headers=admin.headers)).json()["items"]
    assert account.id not in {u["id"] for u in listed}
    again = await api.client.delete(f"/v1/users/{account.id}", headers=admin.headers)
    assert_problem(again, 404, "not_found")


async def test_a_system_user_can_be_neither_demoted_nor_deleted(api: Api) -> None:
    system = await api.admin(is_system=True)
    admin = await api.admin()

    demoted = await api.client.patch(
        f"/v1/users/{system.id}", json={"role": "USER"}, headers=admin.headers
    )
    deleted = await api.client.delete(f"/v1/users/{system.id}", headers=admin.headers)
    self_deleted = await api.client.request(
        "DELETE", "/v1/users/me", json={"password": PASSWORD}, headers=system.headers
    )

    assert_problem(demoted, 409, "system_user")
    assert_problem(deleted, 409, "system_user")
    assert_problem(self_deleted, 409, "system_user")
    me = await api.client.get("/v1/users/me", headers=system.headers)
    assert me.json()["role"] == "ADMINISTRATOR"
    assert me.json()["is_system"] is True


async def test_role_changes_are_validated(api: Api) -> None:
    admin = await api.admin()
    account = await api.register()

    response = await api.client.patch(
        f"/v1/users/{account.id}", json={"role": "KING"}, headers=admin.headers
    )

    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["role"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/users", None),
        ("PATCH", "/v1/users/{id}", {"role": "ADMINISTRATOR"}),
        ("DELETE", "/v1/users/{id}", None),
    ],
)
async def test_user_administration_is_for_administrators(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    account = await api.register()
    url = path.format(id=account.id)

    as_user = await api.client.request(method, url, json=body, headers=account.headers)
    anonymous = await api.client.request(method, url, json=body)

    assert_problem(as_user, 403, "forbidden")
    assert_problem(anonymous, 401, "not_authenticated")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    me = (await api.client.get("/v1/users/me", headers=account.headers)).json()
    assert me["role"] == "USER"


async def test_a_lone_surrogate_in_a_name_is_refused_and_breaks_nothing(api: Api) -> None:
    account = await api.register()

    response = await api.client.patch(
        "/v1/users/me",
        content=b'{"full_name": "Anna \\ud800"}',
        headers=account.headers | {"Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500, response.status_code
    assert (await api.client.get("/v1/users/me", headers=account.headers)).status_code == 200
