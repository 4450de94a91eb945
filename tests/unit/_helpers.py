"""Helpers shared by the account, session, recovery and user tests in this folder."""

from __future__ import annotations

import re
from uuid import UUID

import attrs
import pytest

from afisha_core.domain import IssuedLoginRecovery, IssuedRegistration, LoginSession, User
from afisha_core.errors import NotAuthenticated
from afisha_core.testing import FastPasswordHasher
from afisha_core.tokens import hash_token
from afisha_core.usecases import LoginResult, Principal
from tests.support.world import PASSWORD, World

__all__ = [
    "PASSWORD",
    "CountingHasher",
    "all_string_values",
    "assert_token_rejected",
    "login",
    "principal_of",
    "stored_recovery",
    "stored_registration",
    "stored_session",
    "stored_user",
    "urls_in",
]

URL_RE = re.compile(r"https?://[^\s\"'<>]+")


class CountingHasher(FastPasswordHasher):
    """The fast test hasher, counting how many hashes it verified (a fake, not a mock)."""

    def __init__(self, version: int | None = None) -> None:
        super().__init__(version)
        self.verifications = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return await super().verify(password_hash, password)


async def stored_registration(world: World, token: str) -> IssuedRegistration:
    """The stored registration behind a registration token (looked up by its hash)."""
    async with world.db() as uow:
        registration = await uow.registrations.get_by_token_hash(hash_token(token))
    assert registration is not None, "no registration is stored for this token"
    return registration


async def stored_recovery(world: World, token: str) -> IssuedLoginRecovery:
    """The stored recovery behind a recovery token (looked up by its hash)."""
    async with world.db() as uow:
        recovery = await uow.recoveries.get_by_token_hash(hash_token(token))
    assert recovery is not None, "no recovery is stored for this token"
    return recovery


async def stored_user(world: World, user_id: UUID) -> User:
    """The user as the database holds it now."""
    async with world.db() as uow:
        user = await uow.users.get(user_id)
    assert user is not None
    return user


async def stored_session(world: World, uid: UUID) -> LoginSession:
    """The session as the database holds it now."""
    async with world.db() as uow:
        session = await uow.sessions.get(uid)
    assert session is not None
    return session


async def login(
    world: World,
    login_name: str,
    password: str = PASSWORD,
    *,
    user_agent: str = "pytest",
    client_address: str | None = None,
) -> LoginResult:
    """Log in through the use case."""
    return await world.afisha.sessions.login(
        login_name, password, user_agent=user_agent, client_address=client_address
    )


async def principal_of(world: World, result: LoginResult) -> Principal:
    """Authenticate a login's token."""
    return await world.afisha.sessions.authenticate(result.token)


async def assert_token_rejected(world: World, token: str) -> None:
    """The token no longer authenticates anybody."""
    with pytest.raises(NotAuthenticated):
        await world.afisha.sessions.authenticate(token)


def all_string_values(obj: attrs.AttrsInstance) -> list[str]:
    """Every string field of a stored attrs record, hidden (``repr=False``) ones included."""
    return [value for value in attrs.asdict(obj).values() if isinstance(value, str)]


def urls_in(text: str) -> list[str]:
    """Every http(s) URL in ``text``."""
    return URL_RE.findall(text)
