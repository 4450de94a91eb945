"""Black-box HTTP helpers: an httpx client on the ASGI app over a :class:`World`.

Set-up that the API cannot do (an administrator exists only through the operator's
command) goes through the core; everything the tests assert goes through HTTP.
:class:`UserActions` holds what a user does over HTTP (register, log in, publish an
event); :class:`Api` and the security suite's stack each supply its few hooks.
"""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import attrs
import httpx

from afisha_core import User
from afisha_starlette import Runtime, create_app
from tests.support.world import PASSWORD, World

__all__ = [
    "BASE_URL",
    "PASSWORD",
    "Account",
    "Api",
    "UserActions",
    "assert_problem",
    "assert_rfc3339",
    "iso",
    "open_api",
]

BASE_URL = "http://testserver"

#: Members every problem document has (RFC 9457 plus our ``code``).
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "code")


#: An RFC 3339 date-time with an explicit offset (``Z`` or ``+hh:mm``).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def assert_rfc3339(body: dict[str, Any], *fields: str) -> None:
    """Each of ``fields`` is null or an RFC 3339 date-time with an explicit offset."""
    for field in fields:
        value = body[field]
        assert value is None or (isinstance(value, str) and RFC3339.match(value)), (field, value)


def iso(value: datetime) -> str:
    """RFC 3339 with an explicit offset, as the API takes it."""
    return value.isoformat()


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """Check that ``response`` is a problem document with ``status`` (and ``code``)."""
    assert response.status_code == status, (response.status_code, response.text)
    content_type = response.headers.get("content-type", "")
    assert content_type.split(";")[0].strip() == "application/problem+json", content_type
    body: dict[str, Any] = response.json()
    for member in PROBLEM_MEMBERS:
        assert member in body, (member, body)
    assert body["status"] == status, body
    if code is not None:
        assert body["code"] == code, body
    return body


@attrs.define
class Account:
    """A user as the client knows them: credentials, the token and the User document."""

    email: str
    username: str
    password: str
    token: str
    user: dict[str, Any]

    @property
    def id(self) -> str:
        """The user's id."""
        return str(self.user["id"])

    @property
    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of this account's token."""
        return {"Authorization": f"Bearer {self.token}"}


class UserActions(abc.ABC):
    """What a user does through HTTP; subclasses say where the client, mail and clock are."""

    @abc.abstractmethod
    def _http(self) -> httpx.AsyncClient:
        """The client on the app."""

    @abc.abstractmethod
    async def _mailed_code(self, email: str) -> str:
        """Deliver pending mail and read the newest verification code mailed to ``email``."""

    @abc.abstractmethod
    def _new_identity(self) -> tuple[str, str]:
        """A new unique (email, username)."""

    @abc.abstractmethod
    async def _new_admin(self, *, is_system: bool) -> User:
        """A new administrator, made through the core."""

    @abc.abstractmethod
    def _now(self) -> datetime:
        """The fake clock's now."""

    async def start_registration(
        self,
        email: str,
        username: str,
        password: str = PASSWORD,
        full_name: str = "Test Person",
    ) -> httpx.Response:
        """POST /v1/registrations."""
        return await self._http().post(
            "/v1/registrations",
            json={
                "email": email,
                "username": username,
                "full_name": full_name,
                "password": password,
            },
        )

    async def register(
        self, email: str | None = None, username: str | None = None, password: str = PASSWORD
    ) -> Account:
        """Register and confirm a new user through HTTP; return the logged-in account."""
        fresh_email, fresh_username = self._new_identity()
        email, username = email or fresh_email, username or fresh_username
        started = await self.start_registration(email, username, password)
        assert started.status_code == 202, started.text
        token = started.json()["registration_token"]
        code = await self._mailed_code(email)
        confirmed = await self._http().post(
            f"/v1/registrations/{token}/confirm", json={"code": code}
        )
        assert confirmed.status_code == 201, confirmed.text
        body = confirmed.json()
        return Account(
            email=email,
            username=username,
            password=password,
            token=body["token"],
            user=body["user"],
        )

    async def login(self, login: str, password: str = PASSWORD) -> httpx.Response:
        """POST /v1/sessions."""
        return await self._http().post("/v1/sessions", json={"login": login, "password": password})

    async def login_account(self, account: Account) -> Account:
        """A new session for ``account`` (the old token keeps working)."""
        response = await self.login(account.username, account.password)
        assert response.status_code == 201, response.text
        return attrs.evolve(account, token=response.json()["token"])

    async def admin(self, *, is_system: bool = False) -> Account:
        """A new administrator (made through the core: the API has no way to), logged in."""
        user = await self._new_admin(is_system=is_system)
        response = await self.login(user.username)
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(
            email=user.email,
            username=user.username,
            password=PASSWORD,
            token=body["token"],
            user=body["user"],
        )

    async def create_event(
        self,
        admin: Account,
        *,
        starts_in: timedelta = timedelta(days=3),
        duration: timedelta = timedelta(hours=2),
        **fields: Any,
    ) -> dict[str, Any]:
        """POST /v1/events starting ``starts_in`` after the fake now; return the Event."""
        starts_at = self._now() + starts_in
        body: dict[str, Any] = {
            "name": "Concert",
            "starts_at": iso(starts_at),
            "ends_at": iso(starts_at + duration),
            **fields,
        }
        response = await self._http().post("/v1/events", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        event: dict[str, Any] = response.json()
        return event


@attrs.define
class Api(UserActions):
    """An httpx client on the app plus the world behind it, with user-level helpers."""

    world: World
    client: httpx.AsyncClient

    def _http(self) -> httpx.AsyncClient:
        return self.client

    async def _mailed_code(self, email: str) -> str:
        return await self.world.code_for(email)

    def _new_identity(self) -> tuple[str, str]:
        return self.world.fresh_identity()

    async def _new_admin(self, *, is_system: bool) -> User:
        return await self.world.admin(is_system=is_system)

    def _now(self) -> datetime:
        return self.world.clock.now()

    async def code_for(self, email: str) -> str:
        """Deliver pending mail and read the newest verification code mailed to ``email``."""
        return await self.world.code_for(email)

    async def users(self, n: int) -> list[Account]:
        """``n`` newly registered accounts."""
        return [await self.register() for _ in range(n)]

    async def join(
        self, account: Account, event_id: str, *, waitlist: bool | None = None
    ) -> httpx.Response:
        """PUT /v1/events/{id}/participation."""
        kwargs: dict[str, Any] = {} if waitlist is None else {"json": {"waitlist": waitlist}}
        return await self.client.put(
            f"/v1/events/{event_id}/participation", headers=account.headers, **kwargs
        )

    async def notifications(self, account: Account, **params: str) -> list[dict[str, Any]]:
        """The items of GET /v1/notifications for ``account``."""
        response = await self.client.get(
            "/v1/notifications", headers=account.headers, params=params
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@asynccontextmanager
async def open_api(world: World, runtime: Runtime | None = None) -> AsyncIterator[Api]:
    """An :class:`Api` on ``create_app`` over ``runtime`` (by default the world's Afisha)."""
    app = create_app(runtime or Runtime(afisha=world.afisha))
    # A 500 comes back as a response (and fails the test's status check) instead of
    # the app's exception escaping into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield Api(world=world, client=client)
