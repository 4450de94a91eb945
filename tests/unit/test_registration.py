"""Registration with an emailed 6-digit code, through the use cases on in-memory adapters."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from afisha_core.domain import MAX_CODE_ATTEMPTS, Role
from afisha_core.errors import (
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    RateLimited,
    RegistrationNotFound,
    TooManyAttempts,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
)
from afisha_core.testing import RecordingTokenGenerator
from afisha_core.tokens import SecretsTokenGenerator, hash_token
from tests.support.world import World
from tests.unit._helpers import (
    PASSWORD,
    all_string_values,
    login,
    stored_registration,
    stored_user,
)

TTL = timedelta(minutes=15)


def other_code(code: str) -> str:
    """A 6-digit code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def start(
    world: World,
    email: str = "ann@example.org",
    username: str = "ann",
    full_name: str = "Ann Smith",
    password: str = PASSWORD,
) -> tuple[str, str]:
    """Register; return the registration token and the code that was mailed."""
    token = await world.afisha.accounts.register(email, username, full_name, password)
    code = await world.code_for(email.strip().lower())
    return token, code


async def user_exists(world: World, email: str) -> bool:
    async with world.db() as uow:
        return await uow.users.get_by_email(email) is not None


# --- the code ---------------------------------------------------------------------------


async def test_register_mails_a_six_digit_code_only_through_delivery(world: World) -> None:
    token = await world.afisha.accounts.register("ann@example.org", "ann", "Ann Smith", PASSWORD)

    assert world.mailer.sent == []  # written to the outbox, not sent by the use case
    sent = await world.deliver()

    assert token
    assert [mail.to for mail in sent] == ["ann@example.org"]
    codes = re.findall(r"\b\d{6}\b", sent[0].text)
    assert codes
    assert set(codes) == {world.tokens.issued_codes[-1]}
    assert "Ann Smith" in sent[0].text


async def test_confirm_creates_the_user_and_a_working_session(world: World) -> None:
    token, code = await start(world)

    result = await world.afisha.accounts.confirm(
        token, code, user_agent="Firefox/130", client_address="198.51.100.7"
    )

    assert result.user.email == "ann@example.org"
    assert result.user.username == "ann"
    assert result.user.full_name == "Ann Smith"
    assert result.user.role is Role.USER
    assert not result.user.is_system
    assert not result.user.is_deleted
    principal = await world.afisha.sessions.authenticate(result.token)
    assert principal.user.id == result.user.id
    assert principal.session.uid == result.session.uid
    assert principal.session.user_agent == "Firefox/130"
    # the chosen password is the account's password
    again = await login(world, "ann")
    assert again.user.id == result.user.id


async def test_the_code_still_works_just_before_fifteen_minutes(world: World) -> None:
    token, code = await start(world)
    world.clock.advance(TTL - timedelta(seconds=1))

    result = await world.afisha.accounts.confirm(token, code)

    assert result.user.username == "ann"


async def test_the_code_expires_after_fifteen_minutes(world: World) -> None:
    token, code = await start(world)
    world.clock.advance(TTL)

    with pytest.raises(RegistrationNotFound):
        await world.afisha.accounts.confirm(token, code)
    assert not await user_exists(world, "ann@example.org")


async def test_an_unknown_or_empty_token_is_not_found(world: World) -> None:
    _, code = await start(world)

    with pytest.raises(RegistrationNotFound):
        await world.afisha.accounts.confirm("no-such-token", code)
    with pytest.raises(RegistrationNotFound):
        await world.afisha.accounts.confirm("", code)
    with pytest.raises(RegistrationNotFound):
        await world.afisha.accounts.confirm("x" * 1000, code)


async def test_a_wrong_code_counts_down_the_attempts_left(world: World) -> None:
    token, code = await start(world)
    wrong = other_code(code)

    left = []
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        with pytest.raises(InvalidCode) as caught:
            await world.afisha.accounts.confirm(token, wrong)
        left.append(caught.value.attempts_left)

    assert left == [4, 3, 2, 1]
    assert not await user_exists(world, "ann@example.org")
    # fewer than five wrong codes: the right one still works
    result = await world.afisha.accounts.confirm(token, code)
    assert result.user.email == "ann@example.org"


async def test_the_fifth_wrong_code_kills_the_registration(world: World) -> None:
    token, code = await start(world)
    wrong = other_code(code)
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        with pytest.raises(InvalidCode):
            await world.afisha.accounts.confirm(token, wrong)

    with pytest.raises(TooManyAttempts):
        await world.afisha.accounts.confirm(token, wrong)
    with pytest.raises((TooManyAttempts, RegistrationNotFound)):
        await world.afisha.accounts.confirm(token, code)
    assert not await user_exists(world, "ann@example.org")


async def test_a_malformed_code_is_rejected_without_using_an_attempt(world: World) -> None:
    token, code = await start(world)

    for malformed in [
        "12345",
        "1234567",
        "abcdef",
        "",
        " 12345",
        "123456\n",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
    ]:
        with pytest.raises(ValidationFailed) as caught:
            await world.afisha.accounts.confirm(token, malformed)
        assert [e.field for e in caught.value.errors] == ["code"]

    assert (await stored_registration(world, token)).attempts == 0
    result = await world.afisha.accounts.confirm(token, code)
    assert result.user.username == "ann"


async def test_a_confirmed_registration_cannot_be_confirmed_again(world: World) -> None:
    token, code = await start(world)
    first = await world.afisha.accounts.confirm(token, code)

    with pytest.raises(RegistrationNotFound):
        await world.afisha.accounts.confirm(token, code)
    # still exactly the one account
    assert (await stored_user(world, first.user.id)).email == "ann@example.org"
    async with world.db() as uow:
        assert (await uow.users.get_by_email("ann@example.org")) == first.user


# --- rate limit ---------------------------------------------------------------------------


async def test_at_most_three_registrations_per_email_per_hour(world: World) -> None:
    for i in range(3):
        await world.afisha.accounts.register(
            "ann@example.org" if i != 1 else "  ANN@Example.org", f"ann{i}", "Ann", PASSWORD
        )

    with pytest.raises(RateLimited) as caught:
        await world.afisha.accounts.register("ann@example.org", "ann3", "Ann", PASSWORD)

    assert timedelta(0) < caught.value.retry_after <= timedelta(hours=1)
    sent = await world.deliver()
    assert len(sent) == 3
    # another email is not affected
    await world.afisha.accounts.register("bob@example.org", "bob", "Bob", PASSWORD)


async def test_concurrent_registrations_for_one_email_respect_the_limit(world: World) -> None:
    outcomes = await asyncio.gather(
        *(
            world.afisha.accounts.register("ann@example.org", f"ann{i}", "Ann", PASSWORD)
            for i in range(6)
        ),
        return_exceptions=True,
    )

    assert sum(isinstance(o, str) for o in outcomes) == 3
    assert sum(isinstance(o, RateLimited) for o in outcomes) == 3
    assert len(await world.deliver()) == 3


async def test_registrations_for_an_email_work_again_after_the_hour(world: World) -> None:
    for i in range(3):
        await world.afisha.accounts.register("ann@example.org", f"ann{i}", "Ann", PASSWORD)
    with pytest.raises(RateLimited) as caught:
        await world.afisha.accounts.register("ann@example.org", "ann3", "Ann", PASSWORD)

    world.clock.advance(caught.value.retry_after)
    token, code = await start(world, username="ann3")

    result = await world.afisha.accounts.confirm(token, code)
    assert result.user.username == "ann3"


# --- an email that already has an account ----------------------------------------------------


async def test_registering_a_taken_email_answers_like_a_new_one_but_mails_a_notice(
    world: World,
) -> None:
    owner = await world.register(email="bob@example.org", username="bob")
    await world.deliver()

    token = await world.afisha.accounts.register("BOB@example.org", "bobby", "Not Bob", PASSWORD)
    issued_code = world.tokens.issued_codes[-1]
    fresh = await world.afisha.accounts.register("new@example.org", "newbie", "New", PASSWORD)

    assert isinstance(token, str)
    assert len(token) == len(fresh)
    sent = await world.deliver()
    to_owner = [mail for mail in sent if mail.to == "bob@example.org"]
    assert len(to_owner) == 1
    notice = to_owner[0]
    assert "already exists" in notice.text
    assert issued_code not in notice.text
    assert issued_code not in (notice.html or "")
    assert not re.search(r"\b\d{6}\b", notice.text)
    # the owner's account is untouched
    assert (await stored_user(world, owner.user.id)).full_name == "Test Person"


async def test_no_code_can_confirm_a_registration_for_a_taken_email(world: World) -> None:
    await world.register(email="bob@example.org", username="bob")
    token = await world.afisha.accounts.register("bob@example.org", "bobby", "Not Bob", PASSWORD)
    issued_code = world.tokens.issued_codes[-1]

    # looks exactly like a wrong code on a real registration...
    with pytest.raises(InvalidCode) as caught:
        await world.afisha.accounts.confirm(token, issued_code)
    assert caught.value.attempts_left == MAX_CODE_ATTEMPTS - 1
    # ...and no code at all works
    for code in ["000000", "123456", "999999"]:
        with pytest.raises(InvalidCode):
            await world.afisha.accounts.confirm(token, code)
    with pytest.raises(TooManyAttempts):
        await world.afisha.accounts.confirm(token, issued_code)
    async with world.db() as uow:
        assert await uow.users.get_by_username("bobby") is None
    # it was stored as one that can never be confirmed
    assert (await stored_registration(world, token)).code_hash is None


async def test_a_taken_email_is_rate_limited_like_a_new_one(world: World) -> None:
    await world.register(email="bob@example.org", username="bob")
    world.clock.advance(timedelta(hours=1))  # the owner's own registration is forgotten

    for i in range(3):
        await world.afisha.accounts.register("bob@example.org", f"bob{i}", "Bob", PASSWORD)
    with pytest.raises(RateLimited) as caught:
        await world.afisha.accounts.register("bob@example.org", "bob3", "Bob", PASSWORD)

    assert timedelta(0) < caught.value.retry_after <= timedelta(hours=1)


# --- what may be registered ------------------------------------------------------------------


async def test_a_taken_username_is_refused(world: World) -> None:
    await world.register(email="carol@example.org", username="carol")
    await world.deliver()

    with pytest.raises(UsernameTaken):
        await world.afisha.accounts.register("other@example.org", "carol", "Other", PASSWORD)

    assert await world.deliver() == []


async def test_invalid_fields_are_all_named(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.accounts.register("not-an-email", "No Way!", "   ", PASSWORD)

    assert not isinstance(caught.value, WeakPassword)
    assert {e.field for e in caught.value.errors} == {"email", "username", "full_name"}
    assert await world.deliver() == []


@pytest.mark.parametrize(
    ("email", "username", "full_name", "field"),
    [
        ("ann@example", "ann", "Ann", "email"),
        ("ann example.org", "ann", "Ann", "email"),
        ("@example.org", "ann", "Ann", "email"),
        ("", "ann", "Ann", "email"),
        ("ann@example.org", "Ann", "Ann", "username"),
        ("ann@example.org", "an", "Ann", "username"),
        ("ann@example.org", "a" * 33, "Ann", "username"),
        ("ann@example.org", "ann smith", "Ann", "username"),
        ("ann@example.org", "ann", "", "full_name"),
        ("ann@example.org", "ann", "\t \n", "full_name"),
        ("ann@example.org", "ann", "A" * 201, "full_name"),
    ],
)
async def test_each_invalid_field_is_named(
    world: World, email: str, username: str, full_name: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.accounts.register(email, username, full_name, PASSWORD)

    assert [e.field for e in caught.value.errors] == [field]
    assert await world.deliver() == []


@pytest.mark.parametrize(
    "password",
    [
        "short1!",  # too short
        "",
        "password",  # common
        "Password1",  # common, whatever the case
        "qwerty123",
        "zzzzzzzzzz",  # one repeated character
        "          ",  # only whitespace
        "carolina",  # the username
        "CAROLINA",
        "carolina@example.org",  # the email
        "x" * 1025,  # too long
    ],
)
async def test_weak_passwords_are_refused(world: World, password: str) -> None:
    with pytest.raises(WeakPassword) as caught:
        await world.afisha.accounts.register(
            "carolina@example.org", "carolina", "Carolina", password
        )

    assert caught.value.code == "weak_password"
    assert [e.field for e in caught.value.errors] == ["password"]
    assert await world.deliver() == []


async def test_the_email_is_normalised_to_lower_case(world: World) -> None:
    token = await world.afisha.accounts.register(
        "  Dana.Smith@Example.ORG ", "dana", "Dana", PASSWORD
    )
    code = await world.code_for("dana.smith@example.org")

    result = await world.afisha.accounts.confirm(token, code)

    assert result.user.email == "dana.smith@example.org"
    assert (await login(world, "DANA.SMITH@example.org")).user.id == result.user.id


async def test_the_full_name_is_trimmed(world: World) -> None:
    token, code = await start(world, full_name="  Ann Smith \n")

    result = await world.afisha.accounts.confirm(token, code)

    assert result.user.full_name == "Ann Smith"


# --- races and reuse ---------------------------------------------------------------------------


async def test_two_pending_registrations_for_one_username_the_second_confirm_loses(
    world: World,
) -> None:
    first_token, first_code = await start(world, email="eve1@example.org", username="eve")
    second_token, second_code = await start(world, email="eve2@example.org", username="eve")

    winner = await world.afisha.accounts.confirm(first_token, first_code)
    with pytest.raises(UsernameTaken):
        await world.afisha.accounts.confirm(second_token, second_code)

    assert winner.user.email == "eve1@example.org"
    assert not await user_exists(world, "eve2@example.org")


async def test_two_pending_registrations_for_one_email_the_second_confirm_loses(
    world: World,
) -> None:
    first_token, first_code = await start(world, email="frank@example.org", username="frank1")
    second_token, second_code = await start(world, email="frank@example.org", username="frank2")

    await world.afisha.accounts.confirm(second_token, second_code)
    with pytest.raises(EmailTaken):
        await world.afisha.accounts.confirm(first_token, first_code)

    async with world.db() as uow:
        assert await uow.users.get_by_username("frank1") is None
        assert await uow.users.get_by_username("frank2") is not None


async def test_concurrent_confirms_for_one_username_create_one_user(world: World) -> None:
    first = await start(world, email="gus1@example.org", username="gus")
    second = await start(world, email="gus2@example.org", username="gus")

    outcomes = await asyncio.gather(
        world.afisha.accounts.confirm(*first),
        world.afisha.accounts.confirm(*second),
        return_exceptions=True,
    )

    assert sum(isinstance(o, UsernameTaken) for o in outcomes) == 1
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1


async def test_a_deleted_users_email_and_username_can_be_registered_again(world: World) -> None:
    old = await world.register(email="hank@example.org", username="hank")
    await world.afisha.accounts.delete_me(await world.principal(old), PASSWORD)
    await world.deliver()

    token, code = await start(
        world, email="hank@example.org", username="hank", password="a new passphrase"
    )
    new = await world.afisha.accounts.confirm(token, code)

    assert new.user.id != old.user.id
    assert new.user.email == "hank@example.org"
    assert (await login(world, "hank", "a new passphrase")).user.id == new.user.id
    with pytest.raises(InvalidCredentials):
        await login(world, "hank", PASSWORD)


# --- secrets ---------------------------------------------------------------------------------


async def test_nothing_secret_is_stored_in_the_clear(world: World) -> None:
    token = await world.afisha.accounts.register("ann@example.org", "ann", "Ann", PASSWORD)
    code = world.tokens.issued_codes[-1]

    registration = await stored_registration(world, token)

    stored = all_string_values(registration)
    assert token not in stored
    assert code not in stored
    assert PASSWORD not in stored
    assert not any(token in value or PASSWORD in value for value in stored)
    assert registration.token_hash == hash_token(token)
    assert registration.code_hash == hash_token(token, code)
    assert registration.password_hash != PASSWORD
    assert await world.hasher.verify(registration.password_hash, PASSWORD)
    # the raw token is no key to the registration
    async with world.db() as uow:
        assert await uow.registrations.get_by_token_hash(token) is None


class SameCodeTokens:
    """Real tokens, but always the same code: two registrations share it."""

    def __init__(self) -> None:
        self._real = SecretsTokenGenerator()

    def token(self) -> str:
        return self._real.token()

    def code(self) -> str:
        return "123456"


async def test_a_code_only_confirms_the_registration_it_was_issued_for() -> None:
    world = World(tokens=RecordingTokenGenerator(SameCodeTokens()))
    first_token, first_code = await start(world, email="ivy1@example.org", username="ivy1")
    second_token, second_code = await start(world, email="ivy2@example.org", username="ivy2")
    assert first_code == second_code == "123456"

    first = await stored_registration(world, first_token)
    second = await stored_registration(world, second_token)

    # the same code is stored differently for each registration, bound to its token
    assert first.code_hash != second.code_hash
    assert first.code_hash == hash_token(first_token, "123456")
    result = await world.afisha.accounts.confirm(second_token, second_code)
    assert result.user.username == "ivy2"
