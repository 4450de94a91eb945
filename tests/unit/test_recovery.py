"""Password recovery by a single-use emailed link."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from afisha_core.errors import (
    InvalidCredentials,
    RecoveryTokenInvalid,
    ValidationFailed,
    WeakPassword,
)
from afisha_core.settings import Settings
from afisha_core.tokens import hash_token
from afisha_core.usecases import LoginResult
from tests.support.world import World
from tests.unit._helpers import (
    PASSWORD,
    all_string_values,
    assert_token_rejected,
    login,
    principal_of,
    stored_recovery,
    urls_in,
)

PUBLIC_URL = "https://afisha.example.com/base"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def world() -> World:
    """A world whose public URL differs from the default, to see where links point."""
    return World(settings=Settings(public_url=PUBLIC_URL + "/"))


async def ann(world: World) -> LoginResult:
    result = await world.register(email="ann@example.org", username="ann")
    await world.deliver()
    return result


async def request(world: World, email: str) -> object:
    """Ask for a recovery link; return whatever the use case answered."""
    ask: Callable[[str], Awaitable[object]] = world.afisha.recovery.request
    return await ask(email)


async def request_token(world: World, email: str = "ann@example.org") -> str:
    """Ask for a recovery link and return the token the email carries."""
    assert await request(world, email) is None
    sent = await world.deliver()
    assert len(sent) == 1
    token = world.tokens.issued_tokens[-1]
    assert token in sent[0].text
    return token


# --- asking for a link ----------------------------------------------------------------------


async def test_a_live_user_is_mailed_a_link_built_from_the_public_url(world: World) -> None:
    await ann(world)
    sent_before = len(world.mailer.sent)

    answer = await request(world, "ann@example.org")

    assert answer is None
    assert len(world.mailer.sent) == sent_before  # only the outbox, until delivery runs
    sent = await world.deliver()
    assert [mail.to for mail in sent] == ["ann@example.org"]
    token = world.tokens.issued_tokens[-1]
    expected = f"{PUBLIC_URL}/password-recovery/{token}"
    mail = sent[0]
    assert expected in urls_in(mail.text)
    assert expected in urls_in(mail.html or "")
    assert all(url.startswith(PUBLIC_URL + "/") for url in urls_in(mail.text))
    assert all(url.startswith(PUBLIC_URL + "/") for url in urls_in(mail.html or ""))
    assert "127.0.0.1" not in mail.text


async def test_the_request_email_is_matched_case_insensitively(world: World) -> None:
    await ann(world)

    await world.afisha.recovery.request("  ANN@Example.org ")

    sent = await world.deliver()
    assert [mail.to for mail in sent] == ["ann@example.org"]


async def test_an_unknown_email_gets_the_same_answer_and_a_note_but_no_link(
    world: World,
) -> None:
    await ann(world)
    tokens_before = len(world.tokens.issued_tokens)

    answer = await request(world, "nobody@example.org")

    assert answer is None
    (note,) = await world.deliver()
    assert note.to == "nobody@example.org"
    assert "no account uses it" in note.text
    assert "/password-recovery/" not in note.text
    assert len(world.tokens.issued_tokens) == tokens_before


async def test_a_deleted_users_email_gets_no_link(world: World) -> None:
    gone = await ann(world)
    await world.afisha.accounts.delete_me(await principal_of(world, gone), PASSWORD)
    await world.deliver()

    assert await request(world, "ann@example.org") is None

    (note,) = await world.deliver()
    assert "no account uses it" in note.text
    assert "/password-recovery/" not in note.text


@pytest.mark.parametrize("email", ["not-an-email", "", "ann@example", "a b@example.org"])
async def test_a_malformed_email_is_refused(world: World, email: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.recovery.request(email)

    assert [e.field for e in caught.value.errors] == ["email"]
    assert await world.deliver() == []


async def test_past_the_per_email_limit_the_answer_is_the_same_but_nothing_is_mailed(
    world: World,
) -> None:
    await ann(world)
    for email in ["ann@example.org", "nobody@example.org"]:
        for _ in range(4):
            await world.afisha.recovery.request(email)  # no error: the same answer
    sent = await world.deliver()
    assert len(sent) == 6  # 3 per address: a link for ann, a note for nobody
    assert sum("/password-recovery/" in m.text for m in sent) == 3


async def test_the_per_email_limit_lifts_after_its_window(world: World) -> None:
    await ann(world)
    for _ in range(4):
        await world.afisha.recovery.request("ANN@example.org")
    assert len(await world.deliver()) == 3
    world.clock.advance(timedelta(hours=1))

    token = await request_token(world)
    await world.afisha.recovery.complete(token, NEW_PASSWORD)
    assert (await login(world, "ann", NEW_PASSWORD)).user.username == "ann"


# --- using the link ------------------------------------------------------------------------


async def test_completing_sets_the_password_and_revokes_every_session(world: World) -> None:
    first = await ann(world)
    second = await login(world, "ann")
    bob = await world.register(email="bob@example.org", username="bob")
    token = await request_token(world)

    await world.afisha.recovery.complete(token, NEW_PASSWORD)

    await assert_token_rejected(world, first.token)
    await assert_token_rejected(world, second.token)
    assert (await world.afisha.sessions.list_sessions(first.user)).items == []
    assert (await principal_of(world, bob)).user.id == bob.user.id
    assert (await login(world, "ann", NEW_PASSWORD)).user.id == first.user.id
    with pytest.raises(InvalidCredentials):
        await login(world, "ann", PASSWORD)


async def test_the_token_is_single_use(world: World) -> None:
    await ann(world)
    token = await request_token(world)
    await world.afisha.recovery.complete(token, NEW_PASSWORD)

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(token, "yet another passphrase")

    assert (await login(world, "ann", NEW_PASSWORD)).user.username == "ann"
    with pytest.raises(InvalidCredentials):
        await login(world, "ann", "yet another passphrase")


async def test_a_reset_ends_every_other_recovery_link_of_the_user(world: World) -> None:
    await ann(world)
    first, second = await request_token(world), await request_token(world)

    await world.afisha.recovery.complete(first, NEW_PASSWORD)

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(second, "an attacker's passphrase")
    assert (await login(world, "ann", NEW_PASSWORD)).user.username == "ann"


async def test_a_password_change_ends_every_open_recovery_link(world: World) -> None:
    me = await ann(world)
    token = await request_token(world)

    await world.afisha.accounts.change_password(
        await principal_of(world, me), PASSWORD, NEW_PASSWORD
    )

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(token, "an attacker's passphrase")
    assert (await login(world, "ann", NEW_PASSWORD)).user.username == "ann"


async def test_a_link_asked_for_after_the_change_still_works(world: World) -> None:
    me = await ann(world)
    await world.afisha.accounts.change_password(
        await principal_of(world, me), PASSWORD, NEW_PASSWORD
    )
    token = await request_token(world)

    await world.afisha.recovery.complete(token, "the third passphrase")

    assert (await login(world, "ann", "the third passphrase")).user.username == "ann"


async def test_concurrent_uses_of_one_token_set_one_password(world: World) -> None:
    await ann(world)
    token = await request_token(world)

    outcomes = await asyncio.gather(
        world.afisha.recovery.complete(token, "first new passphrase"),
        world.afisha.recovery.complete(token, "second new passphrase"),
        return_exceptions=True,
    )

    assert sum(isinstance(o, RecoveryTokenInvalid) for o in outcomes) == 1
    assert sum(o is None for o in outcomes) == 1
    winner = "first new passphrase" if outcomes[0] is None else "second new passphrase"
    assert (await login(world, "ann", winner)).user.username == "ann"


async def test_the_token_works_until_just_before_an_hour(world: World) -> None:
    await ann(world)
    token = await request_token(world)
    world.clock.advance(timedelta(hours=1) - timedelta(seconds=1))

    await world.afisha.recovery.complete(token, NEW_PASSWORD)

    assert (await login(world, "ann", NEW_PASSWORD)).user.username == "ann"


async def test_the_token_expires_after_an_hour(world: World) -> None:
    first = await ann(world)
    token = await request_token(world)
    world.clock.advance(timedelta(hours=1))

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(token, NEW_PASSWORD)

    assert (await login(world, "ann", PASSWORD)).user.id == first.user.id
    assert (await principal_of(world, first)).user.id == first.user.id


@pytest.mark.parametrize(
    "weak",
    ["short", "password", "zzzzzzzzzz", "ann@example.org", "ANN@EXAMPLE.ORG"],
)
async def test_a_weak_new_password_is_refused_and_the_token_stays_usable(
    world: World, weak: str
) -> None:
    first = await ann(world)
    token = await request_token(world)

    with pytest.raises(WeakPassword):
        await world.afisha.recovery.complete(token, weak)

    # nothing changed...
    assert (await principal_of(world, first)).user.id == first.user.id
    assert (await login(world, "ann", PASSWORD)).user.id == first.user.id
    # ...and the link still works
    await world.afisha.recovery.complete(token, NEW_PASSWORD)
    assert (await login(world, "ann", NEW_PASSWORD)).user.id == first.user.id


async def test_a_password_equal_to_the_username_is_weak(world: World) -> None:
    result = await world.register(email="annabelle@example.org", username="annabelle")
    await world.deliver()
    token = await request_token(world, "annabelle@example.org")

    with pytest.raises(WeakPassword):
        await world.afisha.recovery.complete(token, "Annabelle")

    await world.afisha.recovery.complete(token, NEW_PASSWORD)
    assert (await login(world, "annabelle", NEW_PASSWORD)).user.id == result.user.id


async def test_a_deleted_users_token_is_invalid(world: World) -> None:
    gone = await ann(world)
    token = await request_token(world)
    await world.afisha.accounts.delete_me(await principal_of(world, gone), PASSWORD)

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(token, NEW_PASSWORD)


async def test_a_deleted_users_token_does_not_open_a_new_account_with_the_email(
    world: World,
) -> None:
    gone = await ann(world)
    token = await request_token(world)
    await world.afisha.accounts.delete_me(await principal_of(world, gone), PASSWORD)
    newcomer = await world.register(email="ann@example.org", username="ann2")

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(token, NEW_PASSWORD)

    assert (await login(world, "ann2", PASSWORD)).user.id == newcomer.user.id


@pytest.mark.parametrize("token", ["", "no-such-token", "x" * 1000])
async def test_an_unknown_token_is_invalid(world: World, token: str) -> None:
    await ann(world)

    with pytest.raises(RecoveryTokenInvalid):
        await world.afisha.recovery.complete(token, NEW_PASSWORD)


async def test_the_token_is_not_stored_in_the_clear(world: World) -> None:
    await ann(world)
    token = await request_token(world)

    recovery = await stored_recovery(world, token)

    assert recovery.token_hash == hash_token(token)
    assert not any(token in value for value in all_string_values(recovery))
    async with world.db() as uow:
        assert await uow.recoveries.get_by_token_hash(token) is None
