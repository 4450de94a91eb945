"""The lost-update attacks, tried over HTTP against a real ``afisha serve`` process.

Each attack is repeated 20 times, on SQLite and on PostgreSQL, with the attacker's
requests racing the victim's through the server's own connection pool:

- a stolen session keeps editing the profile while the victim completes a reset: the
  reset must win (the new password works, the old one and the stolen token do not);
- a stolen session keeps being used (every request writes last-seen) while the victim
  revokes it: the revocation must stick;
- the victim keeps changing the password while an administrator deletes the account:
  the deletion must stick;
- an attacker keeps logging in with the old password while the victim completes a
  reset: no session obtained that way may work afterwards.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from pathlib import Path

import httpx
import pytest

from tests.support.process import afisha_serve, clean_env, fresh_postgres_database, run_afisha

ROUNDS = 20
STARTUP_TIMEOUT = 30.0
MAIL_TIMEOUT = 15.0
PASSWORD = "the victim's first passphrase"
ADMIN_PASSWORD = "the administrator's passphrase"
CODE = re.compile(r"\b(\d{6})\b")
RECOVERY_LINK = re.compile(r"/password-recovery/([A-Za-z0-9_\-]{20,})")
COMMAND = [sys.executable, "-m", "afisha_server.cli"]


class Outbox:
    """The ``.eml`` files the embedded mailer writes, read as they arrive."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: set[Path] = set()

    async def next_match(self, address: str, pattern: re.Pattern[str]) -> str:
        """The first group of ``pattern`` in the next unseen mail to ``address``."""
        deadline = time.monotonic() + MAIL_TIMEOUT
        while time.monotonic() < deadline:
            paths = sorted(self.directory.glob("*.eml")) if self.directory.is_dir() else []
            for path in paths:
                if path in self.seen:
                    continue
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if address not in str(message["To"]):
                    continue
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                if match := pattern.search(body.get_content()):
                    self.seen.add(path)
                    return match.group(1)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {address} matching {pattern.pattern}")


@contextmanager
def _server(cwd: Path, database_url: str | None) -> Iterator[str]:
    env = clean_env(
        AFISHA_SCHEDULER_INTERVAL="1s",
        AFISHA_SESSION_TOUCH_INTERVAL="0s",  # every request writes last_seen_at
        AFISHA_DB_POOL_SIZE="8",
        **({"AFISHA_DATABASE_URL": database_url} if database_url else {}),
    )
    created = run_afisha(
        cwd, env, "create-admin", "--email", "boss@example.org", "--username", "boss",
        "--password-stdin", stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    with afisha_serve(cwd, env) as running:
        yield running.base


class Stack:
    """A running server, a client, its outbox and helpers to act as the people involved."""

    def __init__(self, client: httpx.AsyncClient, outbox: Outbox) -> None:
        self.client = client
        self.outbox = outbox

    @staticmethod
    def auth(token: str, address: str = "203.0.113.1") -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}

    async def register(self, tag: str, address: str) -> tuple[str, str, str]:
        """A new victim: ``(email, username, token of a session)``."""
        mail, username = f"{tag}@example.org", tag
        started = await self.client.post(
            "/v1/registrations",
            json={"email": mail, "username": username, "full_name": "Victim", "password": PASSWORD},
            headers={"X-Forwarded-For": address},
        )
        assert started.status_code == 202, started.text
        code = await self.outbox.next_match(mail, CODE)
        confirmed = await self.client.post(
            f"/v1/registrations/{started.json()['registration_token']}/confirm",
            json={"code": code},
            headers={"X-Forwarded-For": address},
        )
        assert confirmed.status_code == 201, confirmed.text
        return mail, username, confirmed.json()["token"]

    async def login(self, login: str, password: str, address: str) -> httpx.Response:
        return await self.client.post(
            "/v1/sessions",
            json={"login": login, "password": password},
            headers={"X-Forwarded-For": address},
        )

    async def recovery_token(self, mail: str, address: str) -> str:
        asked = await self.client.post(
            "/v1/password-recovery", json={"email": mail}, headers={"X-Forwarded-For": address}
        )
        assert asked.status_code == 202, asked.text
        return await self.outbox.next_match(mail, RECOVERY_LINK)

    async def status_of(self, token: str) -> int:
        return (await self.client.get("/v1/users/me", headers=self.auth(token))).status_code


@asynccontextmanager
async def _stack(tmp_path: Path, backend: str) -> AsyncIterator[Stack]:
    database = fresh_postgres_database("afisha_races") if backend == "postgres" else nullcontext()
    with database as database_url, _server(tmp_path, database_url) as base:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            yield Stack(client, Outbox(tmp_path / "afisha-data" / "outbox"))


async def _until(stop: asyncio.Event, action: object) -> int:
    """Call ``action`` (a coroutine function) until ``stop`` is set; count the calls."""
    assert callable(action)
    calls = 0
    while not stop.is_set():
        await action()
        calls += 1
    return calls


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


async def test_attacks_on_credentials_and_sessions_never_succeed(
    tmp_path: Path, backend: str
) -> None:
    async with _stack(tmp_path, backend) as s:
        boss = await s.login("boss", ADMIN_PASSWORD, "192.0.2.1")
        assert boss.status_code == 201, boss.text
        admin_token = boss.json()["token"]
        undone = revived = undeleted = survived = 0
        for round_ in range(ROUNDS):
            tag = f"v{round_}_{uuid.uuid4().hex[:6]}"
            # Each person their own address: the per-address limits are not under test.
            attacker_ip, victim_ip = f"203.0.113.{round_ + 1}", f"198.51.100.{round_ + 1}"
            mail, username, victim = await s.register(tag, victim_ip)

            # 1. A stolen session edits the profile while the victim resets the password.
            stolen = (await s.login(username, PASSWORD, attacker_ip)).json()["token"]
            recovery = await s.recovery_token(mail, victim_ip)
            stop = asyncio.Event()

            async def edit(token: str = stolen) -> None:
                await s.client.patch(
                    "/v1/users/me", json={"full_name": "Attacker"}, headers=s.auth(token)
                )

            loops = [asyncio.create_task(_until(stop, edit)) for _ in range(2)]
            await asyncio.sleep(0.05)
            new_password = f"the reset passphrase {round_}"
            reset = await s.client.post(
                f"/v1/password-recovery/{recovery}", json={"password": new_password}
            )
            await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*loops)
            assert reset.status_code == 204, reset.text
            fresh = await s.login(username, new_password, victim_ip)
            old = await s.login(username, PASSWORD, victim_ip)
            if fresh.status_code != 201 or old.status_code != 401:
                undone += 1
            if await s.status_of(stolen) != 401:
                undone += 1
            victim = fresh.json()["token"] if fresh.status_code == 201 else victim
            password = new_password

            # 2. A stolen session keeps being used while the victim revokes it.
            answer = await s.login(username, password, attacker_ip)
            if answer.status_code != 201:  # the new password does not work: reset undone
                undone += 1
                continue
            stolen = answer.json()["token"]
            sessions = await s.client.get("/v1/sessions", headers=s.auth(victim))
            uid = next(
                item["uid"]
                for item in sessions.json()["items"]
                if not item["current"] and item["uid"]
            )
            stop = asyncio.Event()

            async def use(token: str = stolen) -> None:
                await s.client.get("/v1/users/me", headers=s.auth(token))

            loops = [asyncio.create_task(_until(stop, use)) for _ in range(2)]
            await asyncio.sleep(0.05)
            # Revoke every other session, the stolen one among them.
            for item in sessions.json()["items"]:
                if not item["current"]:
                    await s.client.delete(f"/v1/sessions/{item['uid']}", headers=s.auth(victim))
            await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*loops)
            assert uid
            if await s.status_of(stolen) != 401:
                revived += 1

            # 3. A login in flight with the old password while the victim resets.
            recovery = await s.recovery_token(mail, victim_ip)
            stop = asyncio.Event()
            obtained: list[str] = []

            async def log_in(
                secret: str = password,
                login: str = username,
                address: str = attacker_ip,
                found: list[str] = obtained,
            ) -> None:
                answer = await s.login(login, secret, address)
                if answer.status_code == 201:
                    found.append(answer.json()["token"])

            loops = [asyncio.create_task(_until(stop, log_in)) for _ in range(2)]
            await asyncio.sleep(0.05)
            password = f"the second reset passphrase {round_}"
            reset = await s.client.post(
                f"/v1/password-recovery/{recovery}", json={"password": password}
            )
            await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*loops)
            assert reset.status_code == 204, reset.text
            statuses = [await s.status_of(token) for token in obtained]
            survived += sum(1 for status in statuses if status != 401)

            # 4. The victim keeps changing the password while an administrator deletes them.
            answer = await s.login(username, password, victim_ip)
            if answer.status_code != 201:  # the second reset was undone
                undone += 1
                continue
            victim = answer.json()["token"]
            user_id = (await s.client.get("/v1/users/me", headers=s.auth(victim))).json()["id"]
            stop = asyncio.Event()
            passwords = [password, f"{password} again"]

            async def change(token: str = victim, passwords: list[str] = passwords) -> None:
                current, new = passwords
                answer = await s.client.post(
                    "/v1/users/me/password",
                    json={"current_password": current, "new_password": new},
                    headers=s.auth(token),
                )
                if answer.status_code == 204:
                    passwords.reverse()

            loops = [asyncio.create_task(_until(stop, change))]
            await asyncio.sleep(0.05)
            deleted = await s.client.delete(f"/v1/users/{user_id}", headers=s.auth(admin_token))
            await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*loops)
            assert deleted.status_code == 204, deleted.text
            listed = await s.client.get(
                "/v1/users", params={"q": username}, headers=s.auth(admin_token)
            )
            if any(u["id"] == user_id for u in listed.json()["items"]):
                undeleted += 1
            if await s.status_of(victim) != 401:
                undeleted += 1

        assert (undone, revived, survived, undeleted) == (0, 0, 0, 0), (
            f"{backend}: {undone} resets undone, {revived} revocations revived, "
            f"{survived} old-password sessions survived, {undeleted} deletions undone "
            f"in {ROUNDS} rounds"
        )
