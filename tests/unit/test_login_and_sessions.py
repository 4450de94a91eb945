"""Login with uniform failures and rate limits, bearer sessions, and password changes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import attrs
import pytest

from afisha_core.domain import LoginSession
from afisha_core.errors import (
    InvalidCredentials,
    NotFound,
    RateLimited,
    ValidationFailed,
    WeakPassword,
)
from afisha_core.settings import Settings
from afisha_core.testing import FastPasswordHasher
from afisha_core.tokens import hash_token
from afisha_core.usecases import LoginResult
from tests.support.world import World
from tests.unit._helpers import (
    PASSWORD,
    CountingHasher,
    all_string_values,
    assert_token_rejected,
    login,
    principal_of,
    stored_session,
    stored_user,
)

NEW_PASSWORD = "a brand new passphrase"


async def ann(world: World) -> LoginResult:
    return await world.register(email="ann@example.org", username="ann")


# --- logging in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login_name",
    ["ann@example.org", "ANN@Example.ORG", "  ann@example.org ", "ann", "ANN", " Ann "],
)
async def test_login_by_email_or_username_case_insensitively(world: World, login_name: str) -> None:
    registered = await ann(world)

    result = await login(world, login_name)

    assert result.user.id == registered.user.id
    principal = await principal_of(world, result)
    assert principal.user.id == registered.user.id
    assert principal.session.uid == result.session.uid
    assert result.token != registered.token


async def test_unknown_deleted_and_wrong_password_fail_identically(world: World) -> None:
    await ann(world)
    gone = await world.register(email="gone@example.org", username="gone")
    await world.afisha.accounts.delete_me(await world.principal(gone), PASSWORD)

    failures = []
    for login_name, password in [
        ("nobody@example.org", PASSWORD),  # unknown email
        ("nobody", PASSWORD),  # unknown username
        ("gone@example.org", PASSWORD),  # deleted, right password
        ("gone", PASSWORD),
        ("ann", "not the password"),  # wrong password
        ("ann@example.org", ""),
    ]:
        with pytest.raises(InvalidCredentials) as caught:
            await login(world, login_name, password)
        failures.append(caught.value)

    assert {type(f) for f in failures} == {InvalidCredentials}
    assert len({f.detail for f in failures}) == 1
    assert len({str(f) for f in failures}) == 1
    assert {f.code for f in failures} == {"invalid_credentials"}


async def test_a_password_is_verified_even_when_there_is_no_user() -> None:
    hasher = CountingHasher()
    world = World(hasher=hasher)
    await ann(world)
    gone = await world.register(email="gone@example.org", username="gone")
    await world.afisha.accounts.delete_me(await world.principal(gone), PASSWORD)

    verifications = {}
    for case, login_name in [
        ("unknown", "nobody@example.org"),
        ("deleted", "gone"),
        ("wrong password", "ann"),
        ("empty login", ""),
    ]:
        before = hasher.verifications
        with pytest.raises(InvalidCredentials):
            await login(world, login_name, "not the password")
        verifications[case] = hasher.verifications - before

    assert verifications == {
        "unknown": 1,
        "deleted": 1,
        "wrong password": 1,
        "empty login": 1,
    }


# --- rate limits ---------------------------------------------------------------------------


async def test_the_eleventh_attempt_on_one_login_is_limited_even_with_the_right_password(
    world: World,
) -> None:
    await ann(world)
    for i in range(10):
        with pytest.raises(InvalidCredentials):
            # the same login whatever its case or surrounding spaces
            await login(world, "ann" if i % 2 else " ANN", "wrong password")

    with pytest.raises(RateLimited) as caught:
        await login(world, "ann", PASSWORD)

    assert timedelta(0) < caught.value.retry_after <= timedelta(minutes=15)
    assert caught.value.code == "rate_limited"


class ThreadedHasher(CountingHasher):
    """Yields to the event loop while verifying, as the argon2 adapter does (a thread)."""

    async def verify(self, password_hash: str, password: str) -> bool:
        await asyncio.sleep(0)
        return await super().verify(password_hash, password)


async def test_concurrent_guesses_cannot_exceed_the_login_limit() -> None:
    hasher = ThreadedHasher()
    world = World(hasher=hasher)
    await ann(world)
    before = hasher.verifications

    outcomes = await asyncio.gather(
        *(login(world, "ann", f"guess number {i}") for i in range(30)),
        return_exceptions=True,
    )

    assert all(isinstance(o, InvalidCredentials | RateLimited) for o in outcomes)
    assert sum(isinstance(o, InvalidCredentials) for o in outcomes) <= 10
    assert hasher.verifications - before <= 10


async def test_a_limited_login_checks_no_password() -> None:
    hasher = CountingHasher()
    world = World(hasher=hasher)
    await ann(world)
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await login(world, "ann", "wrong password")

    before = hasher.verifications
    with pytest.raises(RateLimited):
        await login(world, "ann", "wrong password")

    assert hasher.verifications == before


async def test_the_login_limit_lifts_after_its_window(world: World) -> None:
    registered = await ann(world)
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await login(world, "ann", "wrong password")
    with pytest.raises(RateLimited) as caught:
        await login(world, "ann", PASSWORD)

    world.clock.advance(caught.value.retry_after)

    assert (await login(world, "ann", PASSWORD)).user.id == registered.user.id


async def test_other_logins_are_not_limited_by_one_logins_failures(world: World) -> None:
    await ann(world)
    bob = await world.register(email="bob@example.org", username="bob")
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await login(world, "ann", "wrong password")

    assert (await login(world, "bob")).user.id == bob.user.id


async def test_a_success_before_the_limit_resets_the_login_counter(world: World) -> None:
    await ann(world)
    for _ in range(9):
        with pytest.raises(InvalidCredentials):
            await login(world, "ann", "wrong password")
    await login(world, "ann")

    # a full new allowance of ten failures...
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await login(world, "ann", "wrong password")
    # ...and not one more
    with pytest.raises(RateLimited):
        await login(world, "ann")


async def test_failures_from_one_client_address_are_limited(world: World) -> None:
    victim = await ann(world)
    address = "203.0.113.9"
    for i in range(50):
        with pytest.raises(InvalidCredentials):
            await login(world, f"guess{i}", "wrong password", client_address=address)

    with pytest.raises(RateLimited) as caught:
        await login(world, "ann", client_address=address)
    assert timedelta(0) < caught.value.retry_after <= timedelta(minutes=15)

    # other addresses are not affected
    other = await login(world, "ann", client_address="198.51.100.20")
    assert other.user.id == victim.user.id
    # and the address gets in again once the window has passed
    world.clock.advance(caught.value.retry_after)
    assert (await login(world, "ann", client_address=address)).user.id == victim.user.id


# --- sessions ------------------------------------------------------------------------------


async def test_a_session_records_user_agent_and_address(world: World) -> None:
    await ann(world)

    result = await login(
        world, "ann", user_agent="Mozilla/5.0 (X11; Linux)", client_address="198.51.100.3"
    )

    stored = await stored_session(world, result.session.uid)
    assert stored.user_agent == "Mozilla/5.0 (X11; Linux)"
    assert stored.client_address == "198.51.100.3"
    assert stored.user_id == result.user.id
    listed = (await world.afisha.sessions.list_sessions(result.user)).items
    assert "Mozilla/5.0 (X11; Linux)" in [s.user_agent for s in listed]


async def test_an_overlong_user_agent_is_cut_not_refused(world: World) -> None:
    await ann(world)

    result = await login(world, "ann", user_agent="A" * 5000)

    assert (await principal_of(world, result)).session.user_agent == "A" * 512


@pytest.mark.parametrize("ttl", [None, timedelta(hours=2)])
async def test_sessions_expire_after_the_session_ttl(ttl: timedelta | None) -> None:
    settings = Settings() if ttl is None else Settings(session_ttl=ttl)
    world = World(settings=settings)
    expected_ttl = timedelta(days=30) if ttl is None else ttl
    await ann(world)
    result = await login(world, "ann")
    assert result.session.expires_at == world.clock.now() + expected_ttl

    world.clock.advance(expected_ttl - timedelta(seconds=1))
    assert (await principal_of(world, result)).user.id == result.user.id

    world.clock.advance(timedelta(seconds=1))
    await assert_token_rejected(world, result.token)
    assert (await world.afisha.sessions.list_sessions(result.user)).items == []


async def test_list_sessions_shows_only_active_ones_newest_first() -> None:
    world = World(settings=Settings(session_ttl=timedelta(hours=1)))
    first = await ann(world)  # t0, expires at t0 + 1h
    world.clock.advance(timedelta(minutes=30))
    second = await login(world, "ann", user_agent="second")
    world.clock.advance(timedelta(minutes=20))
    third = await login(world, "ann", user_agent="third")
    world.clock.advance(timedelta(minutes=5))
    fourth = await login(world, "ann", user_agent="fourth")
    bob = await world.register(email="bob@example.org", username="bob")
    await world.afisha.sessions.revoke(first.user, third.session.uid)
    world.clock.advance(timedelta(minutes=6))  # t0 + 61 min: the first has expired

    listed = (await world.afisha.sessions.list_sessions(first.user)).items

    assert [s.uid for s in listed] == [fourth.session.uid, second.session.uid]
    assert bob.session.uid not in [s.uid for s in listed]


async def test_revoking_ones_own_session(world: World) -> None:
    first = await ann(world)
    second = await login(world, "ann")

    await world.afisha.sessions.revoke(first.user, second.session.uid)

    await assert_token_rejected(world, second.token)
    assert (await principal_of(world, first)).session.uid == first.session.uid
    assert [s.uid for s in (await world.afisha.sessions.list_sessions(first.user)).items] == [
        first.session.uid
    ]
    # revoking it again: it is gone
    with pytest.raises(NotFound):
        await world.afisha.sessions.revoke(first.user, second.session.uid)


async def test_revoking_another_users_session_is_not_found(world: World) -> None:
    mine = await ann(world)
    theirs = await world.register(email="bob@example.org", username="bob")

    with pytest.raises(NotFound):
        await world.afisha.sessions.revoke(mine.user, theirs.session.uid)
    with pytest.raises(NotFound):
        await world.afisha.sessions.revoke(mine.user, uuid.uuid4())

    assert (await principal_of(world, theirs)).user.id == theirs.user.id


async def test_logout_revokes_only_the_current_token(world: World) -> None:
    current = await ann(world)
    other = await login(world, "ann")

    await world.afisha.sessions.logout(await principal_of(world, current))

    await assert_token_rejected(world, current.token)
    assert (await principal_of(world, other)).session.uid == other.session.uid


# --- password change -------------------------------------------------------------------------


async def test_changing_the_password_revokes_the_other_sessions_only(world: World) -> None:
    current = await ann(world)
    other = await login(world, "ann")
    bob = await world.register(email="bob@example.org", username="bob")

    await world.afisha.accounts.change_password(
        await principal_of(world, current), PASSWORD, NEW_PASSWORD
    )

    assert (await principal_of(world, current)).session.uid == current.session.uid
    await assert_token_rejected(world, other.token)
    assert (await principal_of(world, bob)).user.id == bob.user.id
    assert (await login(world, "ann", NEW_PASSWORD)).user.id == current.user.id
    with pytest.raises(InvalidCredentials):
        await login(world, "ann", PASSWORD)


async def test_changing_the_password_needs_the_current_one(world: World) -> None:
    current = await ann(world)
    other = await login(world, "ann")

    with pytest.raises(InvalidCredentials):
        await world.afisha.accounts.change_password(
            await principal_of(world, current), "not the password", NEW_PASSWORD
        )

    assert (await principal_of(world, other)).session.uid == other.session.uid
    assert (await login(world, "ann", PASSWORD)).user.id == current.user.id
    with pytest.raises(InvalidCredentials):
        await login(world, "ann", NEW_PASSWORD)


async def test_a_weak_new_password_is_refused(world: World) -> None:
    current = await ann(world)

    with pytest.raises(WeakPassword) as caught:
        await world.afisha.accounts.change_password(
            await principal_of(world, current), PASSWORD, "password"
        )

    assert [e.field for e in caught.value.errors] == ["new_password"]
    assert (await login(world, "ann", PASSWORD)).user.id == current.user.id


# --- rehashing ------------------------------------------------------------------------------


async def test_a_hash_from_older_parameters_is_replaced_on_login(world: World) -> None:
    registered = await ann(world)
    old_hash = (await stored_user(world, registered.user.id)).password_hash
    assert old_hash.startswith("fake$")
    # the same data, now served with new hashing parameters
    upgraded = World(db=world.db, clock=world.clock, hasher=FastPasswordHasher(version=2))

    result = await login(upgraded, "ann")

    new_hash = (await stored_user(upgraded, registered.user.id)).password_hash
    assert result.user.id == registered.user.id
    assert new_hash.startswith("fake-v2$")
    assert not upgraded.hasher.needs_rehash(new_hash)
    assert (await login(upgraded, "ann")).user.id == registered.user.id
    with pytest.raises(InvalidCredentials):
        await login(upgraded, "ann", "not the password")
    # a current hash is left alone
    await login(upgraded, "ann")
    assert (await stored_user(upgraded, registered.user.id)).password_hash == new_hash


async def test_a_failed_login_does_not_rehash(world: World) -> None:
    registered = await ann(world)
    old_hash = (await stored_user(world, registered.user.id)).password_hash
    upgraded = World(db=world.db, clock=world.clock, hasher=FastPasswordHasher(version=2))

    with pytest.raises(InvalidCredentials):
        await login(upgraded, "ann", "not the password")

    assert (await stored_user(upgraded, registered.user.id)).password_hash == old_hash


# --- authenticate ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "x" * 257, "no-such-token", " "])
async def test_authenticate_rejects_bad_tokens(world: World, token: str) -> None:
    await ann(world)

    await assert_token_rejected(world, token)


async def test_authenticate_rejects_a_near_miss_of_a_real_token(world: World) -> None:
    registered = await ann(world)

    await assert_token_rejected(world, registered.token + "x")
    await assert_token_rejected(world, registered.token[:-1])
    await assert_token_rejected(world, registered.token.upper())


async def test_last_seen_is_updated_at_most_once_per_touch_interval(world: World) -> None:
    registered = await ann(world)
    t0 = registered.session.last_seen_at
    assert t0 == world.clock.now()

    async def last_seen() -> object:
        seen = (await principal_of(world, registered)).session.last_seen_at
        assert seen == (await stored_session(world, registered.session.uid)).last_seen_at
        return seen

    world.clock.advance(timedelta(seconds=30))
    assert await last_seen() == t0
    world.clock.advance(timedelta(seconds=30))
    assert await last_seen() == t0 + timedelta(minutes=1)
    world.clock.advance(timedelta(seconds=59))
    assert await last_seen() == t0 + timedelta(minutes=1)
    world.clock.advance(timedelta(seconds=1))
    assert await last_seen() == t0 + timedelta(minutes=2)


async def test_the_session_token_is_not_stored_in_the_clear(world: World) -> None:
    registered = await ann(world)
    result = await login(world, "ann")

    for token, uid in [
        (registered.token, registered.session.uid),
        (result.token, result.session.uid),
    ]:
        stored = await stored_session(world, uid)
        assert stored.token_hash == hash_token(token)
        assert not any(token in value for value in all_string_values(stored))
        async with world.db() as uow:
            assert await uow.sessions.get_by_token_hash(token) is None
    assert len(result.token) >= 43  # 256 bits, URL-safe


async def test_a_token_of_a_user_deleted_without_revoking_sessions_is_rejected(
    world: World,
) -> None:
    """Belt and braces: even if sessions survived a deletion (say, by an operator's SQL)."""
    registered = await ann(world)
    async with world.db() as uow:
        user = await uow.users.get(registered.user.id)
        assert user is not None
        await uow.users.update(attrs.evolve(user, deleted_at=world.clock.now()))
        await uow.commit()
    assert (await stored_session(world, registered.session.uid)).revoked_at is None

    await assert_token_rejected(world, registered.token)


async def test_sessions_are_listed_in_pages_and_bad_paging_is_refused(world: World) -> None:
    first = await ann(world)
    for _ in range(4):
        world.clock.advance(timedelta(seconds=1))
        await login(world, "ann")

    seen: list[LoginSession] = []
    cursor = None
    for _ in range(5):
        page = await world.afisha.sessions.list_sessions(first.user, limit=2, cursor=cursor)
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(seen) == 5
    assert [s.created_at for s in seen] == sorted((s.created_at for s in seen), reverse=True)
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "not a cursor"}):
        with pytest.raises(ValidationFailed):
            await world.afisha.sessions.list_sessions(first.user, **bad)
