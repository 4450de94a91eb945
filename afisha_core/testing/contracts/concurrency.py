"""The concurrency contract: two real writers on one row, for every conflicting pair.

Subclass :class:`ConcurrencyContract` in your store's tests and provide the same
``uow_factory`` fixture as for
:class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract` (an empty,
ready store)::

    class TestMyStoreConcurrency(ConcurrencyContract):
        @pytest.fixture
        def uow_factory(self) -> UnitOfWorkFactory:
            return MyDatabase()

The suite runs the core's use cases over your store. For each race (a password reset
against a profile edit, a revocation against the last-seen write, a login against a
reset, a cancellation against an edit, an ack against ack-all, ...) it

- plays every schedule of the form "the first writer stops after its k-th step, the
  second runs, the first goes on", for every k and both orders
  (:func:`~afisha_core.testing.interleave.run_interleaved`), and
- hammers the pair with real concurrency (both at once, many rounds),

and after each round checks the invariant: the reset wins, the revocation sticks, the
deletion sticks, no session outlives the password it was opened with, the first ack
is kept, a reminder is never sent twice. A store that writes back a whole row it read
without a lock fails here.

Each round starts from new users and events, so the store is never emptied between
rounds. A unit of work that waits for a lock longer than a few seconds makes the
test fail rather than hang.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest

from afisha_core.app import Afisha
from afisha_core.domain import (
    AuditAction,
    DeliveryStatus,
    InstantNotification,
    IssuedLoginRecovery,
    Role,
    User,
    Webhook,
)
from afisha_core.errors import (
    EventRejected,
    InvalidCredentials,
    InvalidTotp,
    NotAuthenticated,
    NotFound,
    RecoveryTokenInvalid,
    TotpRequired,
)
from afisha_core.ports import AuditQuery, UnitOfWorkFactory
from afisha_core.testing.fakes import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
)
from afisha_core.testing.interleave import Outcome, PausingUnitOfWorkFactory, run_interleaved
from afisha_core.tokens import SecretsTokenGenerator, hash_token
from afisha_core.totp import b32decode, time_step, totp
from afisha_core.usecases import (
    LoginResult,
    NotificationService,
    Principal,
    WebhookDeliveryService,
    WrongTotp,
)
from afisha_core.usecases.events import EventDraft, EventPatch

__all__ = ["ConcurrencyContract", "Race"]

OLD_PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
START = datetime(2031, 5, 6, 7, 0, tzinfo=UTC)
# More steps than any use case here takes: a loop that reaches it is a bug in the suite.
MAX_STEPS = 60


@attrs.frozen
class Race:
    """Two writers on the same rows, and the invariant that must hold after both."""

    a: Callable[[], Awaitable[Any]]
    b: Callable[[], Awaitable[Any]]
    check: Callable[[Outcome, Outcome], Awaitable[None]]


@attrs.define
class _World:
    """The core over the store under test, with fakes for everything else."""

    factory: PausingUnitOfWorkFactory
    clock: FakeClock
    hasher: FastPasswordHasher
    afisha: Afisha

    @classmethod
    def over(cls, store: UnitOfWorkFactory) -> _World:
        factory = PausingUnitOfWorkFactory(store)
        clock = FakeClock(START)
        hasher = FastPasswordHasher()
        afisha = Afisha(
            uow=factory,
            hasher=hasher,
            limiter=InMemoryRateLimiter(clock),
            storage=InMemoryObjectStorage(),
            mailer=RecordingMailer(),
            clock=clock,
            tokens=SecretsTokenGenerator(),
        )
        return cls(factory, clock, hasher, afisha)

    async def user(self, role: Role = Role.USER) -> User:
        tag = uuid.uuid4().hex[:12]
        user = User(
            id=uuid.uuid4(),
            email=f"u{tag}@example.org",
            username=f"u_{tag}",
            full_name="Race Runner",
            password_hash=await self.hasher.hash(OLD_PASSWORD),
            role=role,
            created_at=self.clock.now(),
        )
        async with self.factory.inner() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    async def login(self, user: User, password: str = OLD_PASSWORD) -> LoginResult:
        return await self.afisha.sessions.login(user.username, password)

    async def recovery_token(self, user: User) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        now = self.clock.now()
        async with self.factory.inner() as uow:
            await uow.recoveries.add(
                IssuedLoginRecovery(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                    credential_version=user.credential_version,
                )
            )
            await uow.commit()
        return token

    async def stored(self, user: User) -> User:
        async with self.factory.inner() as uow:
            found = await uow.users.get(user.id)
        assert found is not None
        return found

    async def has_password(self, user: User, password: str) -> bool:
        return await self.hasher.verify((await self.stored(user)).password_hash, password)

    async def assert_dead(self, token: str) -> None:
        with pytest.raises(NotAuthenticated):
            await self.afisha.sessions.authenticate(token)

    def due_for_touch(self) -> None:
        """Move time on so that the next authentication writes ``last_seen_at``."""
        self.clock.advance(self.afisha.settings.session_touch_interval * 2)


def _expect(outcome: Outcome, *allowed: type[Exception]) -> None:
    """The writer succeeded, or failed with one of the ``allowed`` errors."""
    if outcome.error is not None and not isinstance(outcome.error, allowed):
        raise AssertionError(f"unexpected error {outcome.error!r}") from outcome.error


# --- the races ---------------------------------------------------------------------


async def reset_vs_profile_edit(w: _World) -> Race:
    """A profile edit in flight never brings the old password back."""
    user = await w.user()
    token = await w.recovery_token(user)

    async def check(edit: Outcome, reset: Outcome) -> None:
        _expect(edit)
        _expect(reset)
        assert await w.has_password(user, NEW_PASSWORD), "the reset was undone"
        assert (await w.stored(user)).full_name == "Edited Name", "the edit was lost"

    return Race(
        lambda: w.afisha.accounts.update_profile(user, full_name="Edited Name"),
        lambda: w.afisha.recovery.complete(token, NEW_PASSWORD),
        check,
    )


async def delete_vs_password_change(w: _World) -> Race:
    """An account deleted by an administrator stays deleted."""
    user, admin = await w.user(), await w.user(Role.ADMINISTRATOR)
    me = await w.login(user)
    principal = await w.afisha.sessions.authenticate(me.token)

    async def check(change: Outcome, delete: Outcome) -> None:
        _expect(change, NotFound, NotAuthenticated)
        _expect(delete)
        assert (await w.stored(user)).is_deleted, "the deletion was undone"
        await w.assert_dead(me.token)

    return Race(
        lambda: w.afisha.accounts.change_password(principal, OLD_PASSWORD, NEW_PASSWORD),
        lambda: w.afisha.accounts.delete_user(admin, user.id),
        check,
    )


async def demote_vs_password_change(w: _World) -> Race:
    """A demotion sticks, and so does the password change."""
    user, admin = await w.user(Role.ADMINISTRATOR), await w.user(Role.ADMINISTRATOR)
    me = await w.login(user)
    principal = await w.afisha.sessions.authenticate(me.token)

    async def check(change: Outcome, demote: Outcome) -> None:
        _expect(change)
        _expect(demote)
        stored = await w.stored(user)
        assert stored.role is Role.USER, "the demotion was undone"
        assert await w.has_password(user, NEW_PASSWORD), "the password change was undone"

    return Race(
        lambda: w.afisha.accounts.change_password(principal, OLD_PASSWORD, NEW_PASSWORD),
        lambda: w.afisha.accounts.change_role(admin, user.id, Role.USER),
        check,
    )


async def revoke_vs_last_seen(w: _World) -> Race:
    """A revoked session stays revoked, whatever the last-seen write does."""
    user = await w.user()
    me = await w.login(user)
    w.due_for_touch()

    async def check(seen: Outcome, revoke: Outcome) -> None:
        _expect(seen, NotAuthenticated)
        _expect(revoke)
        await w.assert_dead(me.token)

    return Race(
        lambda: w.afisha.sessions.authenticate(me.token),
        lambda: w.afisha.sessions.revoke(user, me.session.uid),
        check,
    )


async def reset_vs_last_seen(w: _World) -> Race:
    """A reset ends every session, even one being used at that moment."""
    user = await w.user()
    me = await w.login(user)
    token = await w.recovery_token(user)
    w.due_for_touch()

    async def check(seen: Outcome, reset: Outcome) -> None:
        _expect(seen, NotAuthenticated)
        _expect(reset)
        await w.assert_dead(me.token)

    return Race(
        lambda: w.afisha.sessions.authenticate(me.token),
        lambda: w.afisha.recovery.complete(token, NEW_PASSWORD),
        check,
    )


async def password_change_vs_last_seen(w: _World) -> Race:
    """A password change ends the other sessions, even one being used; the caller's lives."""
    user = await w.user()
    mine, other = await w.login(user), await w.login(user)
    principal = await w.afisha.sessions.authenticate(mine.token)
    w.due_for_touch()

    async def check(seen: Outcome, change: Outcome) -> None:
        _expect(seen, NotAuthenticated)
        _expect(change)
        await w.assert_dead(other.token)
        await w.afisha.sessions.authenticate(mine.token)

    return Race(
        lambda: w.afisha.sessions.authenticate(other.token),
        lambda: w.afisha.accounts.change_password(principal, OLD_PASSWORD, NEW_PASSWORD),
        check,
    )


async def deletion_vs_last_seen(w: _World) -> Race:
    """Deleting one's account ends its sessions, even one being used."""
    user = await w.user()
    me, other = await w.login(user), await w.login(user)
    principal = await w.afisha.sessions.authenticate(me.token)
    w.due_for_touch()

    async def check(seen: Outcome, delete: Outcome) -> None:
        _expect(seen, NotAuthenticated)
        _expect(delete)
        await w.assert_dead(other.token)
        assert (await w.stored(user)).is_deleted

    return Race(
        lambda: w.afisha.sessions.authenticate(other.token),
        lambda: w.afisha.accounts.delete_me(principal, OLD_PASSWORD),
        check,
    )


async def login_vs_reset(w: _World) -> Race:
    """A login with the old password never yields a session that outlives the reset."""
    user = await w.user()
    token = await w.recovery_token(user)

    async def check(login: Outcome, reset: Outcome) -> None:
        _expect(login, InvalidCredentials)
        _expect(reset)
        if login.ok:
            await w.assert_dead(login.value.token)
        assert await w.has_password(user, NEW_PASSWORD)

    return Race(
        lambda: w.login(user),
        lambda: w.afisha.recovery.complete(token, NEW_PASSWORD),
        check,
    )


async def login_vs_password_change(w: _World) -> Race:
    """A login with the old password never yields a session that outlives the change."""
    user = await w.user()
    me = await w.login(user)
    principal = await w.afisha.sessions.authenticate(me.token)

    async def check(login: Outcome, change: Outcome) -> None:
        _expect(login, InvalidCredentials)
        _expect(change)
        if login.ok:
            await w.assert_dead(login.value.token)
        await w.afisha.sessions.authenticate(me.token)

    return Race(
        lambda: w.login(user),
        lambda: w.afisha.accounts.change_password(principal, OLD_PASSWORD, NEW_PASSWORD),
        check,
    )


async def old_recovery_vs_reset(w: _World) -> Race:
    """Of two recovery links, only one can set a password: the reset ends the other."""
    user = await w.user()
    first, second = await w.recovery_token(user), await w.recovery_token(user)

    async def check(a: Outcome, b: Outcome) -> None:
        _expect(a, RecoveryTokenInvalid)
        _expect(b, RecoveryTokenInvalid)
        assert [a.ok, b.ok].count(True) == 1, "both recovery links set a password"

    return Race(
        lambda: w.afisha.recovery.complete(first, NEW_PASSWORD),
        lambda: w.afisha.recovery.complete(second, NEW_PASSWORD + "!"),
        check,
    )


async def _event(w: _World, admin: User, *, starts_in: timedelta = timedelta(days=30)) -> uuid.UUID:
    starts = w.clock.now() + starts_in
    draft = EventDraft(name="Race night", starts_at=starts, ends_at=starts + timedelta(hours=2))
    return (await w.afisha.events.create(admin, draft)).event.id


async def cancel_vs_edit(w: _World) -> Race:
    """A cancelled event stays cancelled; an edit that got in first is kept."""
    admin = await w.user(Role.ADMINISTRATOR)
    event_id = await _event(w, admin)

    async def check(edit: Outcome, cancel: Outcome) -> None:
        _expect(edit, EventRejected)
        _expect(cancel)
        view = await w.afisha.events.get(admin, event_id)
        assert view.event.is_rejected, "the cancellation was undone"
        if edit.ok:
            assert view.event.name == "Edited", "the edit was lost"

    return Race(
        lambda: w.afisha.events.update(admin, event_id, EventPatch(name="Edited")),
        lambda: w.afisha.events.reject(admin, event_id, "Weather"),
        check,
    )


async def image_vs_edit(w: _World) -> Race:
    """A new picture and an edit made at once are both kept."""
    admin = await w.user(Role.ADMINISTRATOR)
    event_id = await _event(w, admin)

    async def check(image: Outcome, edit: Outcome) -> None:
        _expect(image)
        _expect(edit)
        view = await w.afisha.events.get(admin, event_id)
        assert view.event.image_key is not None, "the picture was lost"
        assert view.event.name == "Edited", "the edit was lost"

    return Race(
        lambda: w.afisha.events.set_image(admin, event_id, PNG, "image/png"),
        lambda: w.afisha.events.update(admin, event_id, EventPatch(name="Edited")),
        check,
    )


async def ack_vs_ack_all(w: _World) -> Race:
    """The first acknowledgement of a notification is the one kept."""
    user = await w.user()
    notification = InstantNotification(
        id=uuid.uuid4(), user_id=user.id, title="Hello", content="World", created_at=w.clock.now()
    )
    async with w.factory.inner() as uow:
        await uow.notifications.add(notification)
        await uow.commit()
    at_a, at_b = w.clock.now() + timedelta(minutes=1), w.clock.now() + timedelta(minutes=2)
    one = NotificationService(w.factory, FakeClock(at_a))
    every = NotificationService(w.factory, FakeClock(at_b))

    async def check(ack: Outcome, ack_all: Outcome) -> None:
        _expect(ack)
        _expect(ack_all)
        async with w.factory.inner() as uow:
            stored = await uow.notifications.get(notification.id)
        assert stored is not None
        assert ack.value.acked_at == stored.acked_at, "ack answered another time than stored"
        assert stored.acked_at == (at_b if ack_all.value == 1 else at_a), "an ack was lost"

    return Race(lambda: one.ack(user, notification.id), lambda: every.ack_all(user), check)


async def leave_vs_reminder_claim(w: _World) -> Race:
    """Leaving while the reminder is claimed never makes it go out twice."""
    admin, user = await w.user(Role.ADMINISTRATOR), await w.user()
    event_id = await _event(w, admin, starts_in=timedelta(hours=1))
    await w.afisha.participation.join(user, event_id)

    async def check(leave: Outcome, claim: Outcome) -> None:
        _expect(leave)
        _expect(claim)
        await w.afisha.participation.join(user, event_id)
        await w.afisha.reminders.send_due()
        page = await w.afisha.notifications.list_notifications(user, limit=100)
        assert len(page.items) == 1, f"{len(page.items)} reminders for one participation"

    return Race(
        lambda: w.afisha.participation.leave(user, event_id),
        w.afisha.reminders.send_due,
        check,
    )


# --- two-factor login ----------------------------------------------------------------

TOTP_STEP = timedelta(seconds=30)


def _app_code(w: _World, secret: str) -> str:
    """What the user's authenticator app shows at the world's current time."""
    return totp(b32decode(secret), w.clock.now())


async def _totp_user(w: _World) -> tuple[User, str, list[str], Principal]:
    """A user with TOTP on: the user, the secret, the recovery codes and a live session.

    Time moves one step on afterwards, so the code of the current step is unused.
    """
    user = await w.user()
    principal = await w.afisha.sessions.authenticate((await w.login(user)).token)
    enrolment = await w.afisha.totp.enrol(principal, OLD_PASSWORD)
    codes = await w.afisha.totp.confirm(principal, _app_code(w, enrolment.secret))
    w.clock.advance(TOTP_STEP)
    return await w.stored(user), enrolment.secret, codes, principal


async def totp_confirm_vs_login(w: _World) -> Race:
    """A login racing the confirmation of TOTP never yields a session without a code."""
    user = await w.user()
    me = await w.login(user)
    principal = await w.afisha.sessions.authenticate(me.token)
    enrolment = await w.afisha.totp.enrol(principal, OLD_PASSWORD)
    code = _app_code(w, enrolment.secret)

    async def check(login: Outcome, confirm: Outcome) -> None:
        _expect(login, TotpRequired)
        _expect(confirm)
        assert (await w.stored(user)).totp_enabled
        if login.ok:  # only if it came first: then confirming ended it
            await w.assert_dead(login.value.token)

    return Race(
        lambda: w.login(user),
        lambda: w.afisha.totp.confirm(principal, code),
        check,
    )


async def totp_disable_vs_login(w: _World) -> Race:
    """Disabling sticks, and one code is not accepted by both a login and the disabling."""
    user, secret, _, principal = await _totp_user(w)
    code = _app_code(w, secret)

    async def check(login: Outcome, disable: Outcome) -> None:
        _expect(login, InvalidTotp)
        _expect(disable, WrongTotp)
        assert login.ok or disable.ok, "the code was refused by both"
        stored = await w.stored(user)
        if disable.ok:
            assert not stored.totp_enabled, "the disabling was undone"
            async with w.factory.inner() as uow:
                assert await uow.totp.get(user.id) is None, "the secret came back"
        else:
            assert stored.totp_enabled
            async with w.factory.inner() as uow:
                credential = await uow.totp.get(user.id)
            assert credential is not None
            assert credential.last_step == time_step(w.clock.now())

    return Race(
        lambda: _login_with(w, user, code),
        lambda: w.afisha.totp.disable(principal, OLD_PASSWORD, code),
        check,
    )


async def totp_code_used_twice(w: _World) -> Race:
    """Two logins with the same code at once: one gets in, the other is refused."""
    user, secret, _, _ = await _totp_user(w)
    code = _app_code(w, secret)
    return Race(
        lambda: _login_with(w, user, code),
        lambda: _login_with(w, user, code),
        _exactly_one_login,
    )


async def recovery_code_used_twice(w: _World) -> Race:
    """Two logins with the same recovery code at once: one gets in, the other is refused."""
    user, _, codes, _ = await _totp_user(w)
    return Race(
        lambda: _login_with(w, user, codes[0]),
        lambda: _login_with(w, user, codes[0]),
        _exactly_one_login,
    )


async def _login_with(w: _World, user: User, code: str) -> LoginResult:
    return await w.afisha.sessions.login(user.username, OLD_PASSWORD, totp_code=code)


async def _exactly_one_login(a: Outcome, b: Outcome) -> None:
    _expect(a, InvalidTotp)
    _expect(b, InvalidTotp)
    assert [a.ok, b.ok].count(True) == 1, f"{[a.ok, b.ok].count(True)} logins with one code"


# --- erasure of deleted accounts ---------------------------------------------------------


async def _deleted_long_ago(w: _World) -> tuple[User, LoginResult, Principal]:
    """A user with a session, deleted by an administrator longer ago than the retention."""
    user, admin = await w.user(), await w.user(Role.ADMINISTRATOR)
    me = await w.login(user)
    principal = await w.afisha.sessions.authenticate(me.token)
    await w.afisha.accounts.delete_user(admin, user.id)
    w.clock.advance(w.afisha.settings.deleted_retention + timedelta(minutes=1))
    return user, me, principal


async def _assert_erased(w: _World, user: User) -> None:
    stored = await w.stored(user)
    assert stored.erased_at is not None, "not erased"
    assert (stored.email, stored.username, stored.full_name) != (
        user.email,
        user.username,
        user.full_name,
    )
    assert user.email not in (stored.email, stored.username), "the email came back"
    assert stored.full_name != user.full_name, "the name came back"
    async with w.factory.inner() as uow:
        assert list(await uow.personal_data.list_sessions(user.id)) == [], "sessions remain"


async def erasure_vs_profile_edit(w: _World) -> Race:
    """A profile edit in flight when the account is erased never brings a name back."""
    user, _, principal = await _deleted_long_ago(w)

    async def check(edit: Outcome, erase: Outcome) -> None:
        _expect(edit, NotFound)
        _expect(erase)
        assert erase.value is True
        await _assert_erased(w, user)

    return Race(
        lambda: w.afisha.accounts.update_profile(principal.user, full_name="Back Again"),
        lambda: w.afisha.personal_data.erase_account(user.id),
        check,
    )


async def erasure_vs_last_seen(w: _World) -> Race:
    """A request with an old token while the account is erased writes nothing back."""
    user, me, _ = await _deleted_long_ago(w)

    async def check(seen: Outcome, erase: Outcome) -> None:
        _expect(seen, NotAuthenticated)
        _expect(erase)
        assert not seen.ok, "a deleted account's token worked"
        await _assert_erased(w, user)
        await w.assert_dead(me.token)

    return Race(
        lambda: w.afisha.sessions.authenticate(me.token),
        lambda: w.afisha.personal_data.erase_account(user.id),
        check,
    )


async def erasure_by_two_workers(w: _World) -> Race:
    """Two workers erasing one account: it is erased once, with one audit entry."""
    user, _, _ = await _deleted_long_ago(w)

    async def check(a: Outcome, b: Outcome) -> None:
        _expect(a)
        _expect(b)
        assert [a.value, b.value].count(True) == 1, "erased twice (or never)"
        await _assert_erased(w, user)
        async with w.factory.inner() as uow:
            entries = await uow.audit.list(
                AuditQuery(target_id=user.id, action=AuditAction.ACCOUNT_ERASED)
            )
        assert len(entries) == 1

    return Race(
        lambda: w.afisha.personal_data.erase_account(user.id),
        lambda: w.afisha.personal_data.erase_account(user.id),
        check,
    )


# --- personal calendar feeds ---------------------------------------------------------------


async def _feed_owner(w: _World) -> tuple[Principal, str]:
    """A user with a session and a calendar feed; the feed's token."""
    user = await w.user()
    principal = await w.afisha.sessions.authenticate((await w.login(user)).token)
    return principal, await w.afisha.calendar_feeds.issue(principal)


async def _feed_works(w: _World, token: str) -> bool:
    try:
        await w.afisha.calendar_feeds.read(token)
    except NotFound:
        return False
    return True


async def calendar_feed_rotated_twice(w: _World) -> Race:
    """Two rotations at once: exactly one new URL works, and never the old one."""
    principal, old = await _feed_owner(w)

    async def check(a: Outcome, b: Outcome) -> None:
        _expect(a)
        _expect(b)
        assert a.value != b.value
        works = [await _feed_works(w, a.value), await _feed_works(w, b.value)]
        assert works.count(True) == 1, f"working URLs after two rotations: {works}"
        assert not await _feed_works(w, old), "the rotated-away URL still works"

    return Race(
        lambda: w.afisha.calendar_feeds.issue(principal),
        lambda: w.afisha.calendar_feeds.issue(principal),
        check,
    )


async def calendar_feed_revoke_vs_rotate(w: _World) -> Race:
    """A revocation racing a rotation: the old URL is dead, and at most the new one works."""
    principal, old = await _feed_owner(w)

    async def check(rotate: Outcome, revoke: Outcome) -> None:
        _expect(rotate)
        _expect(revoke)
        assert not await _feed_works(w, old), "the old URL survived"
        new_works = await _feed_works(w, rotate.value)
        # Revoked last: nothing works. Rotated last: the new URL works (the revocation
        # removed the old feed, so it reports True either way).
        assert revoke.value is True
        async with w.factory.inner() as uow:
            stored = await uow.calendar_feeds.get_by_token_hash(hash_token(rotate.value))
        assert new_works == (stored is not None)

    return Race(
        lambda: w.afisha.calendar_feeds.issue(principal),
        lambda: w.afisha.calendar_feeds.revoke(principal),
        check,
    )


# --- webhooks --------------------------------------------------------------------------


class _CountingSender:
    """A webhook sender that accepts everything and counts what it was given, by id."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def check_destination(self, url: str) -> None:
        return None

    async def send(self, url: str, headers: dict[str, str], body: bytes, time_limit: float) -> int:
        await asyncio.sleep(0)
        self.sent.append(headers["webhook-id"])
        return 204


async def _webhook_with_a_due_delivery(w: _World) -> tuple[Webhook, _CountingSender]:
    webhook = Webhook(
        id=uuid.uuid4(),
        url="https://receiver.example/hook",
        event_types=("event.created",),
        secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        created_at=w.clock.now(),
    )
    async with w.factory.inner() as uow:
        # Earlier rounds' webhooks would get this round's event too: remove them.
        for old in await uow.webhooks.list(after=None, limit=1000):
            await uow.webhooks.delete(old.id)
        await uow.webhooks.add(webhook)
        await uow.commit()
    admin = await w.user(Role.ADMINISTRATOR)
    await _event(w, admin)  # queues event.created for the webhook
    return webhook, _CountingSender()


async def webhook_delivered_by_two_workers(w: _World) -> Race:
    """Two workers on one due delivery: it is sent once and recorded DELIVERED once."""
    webhook, sender = await _webhook_with_a_due_delivery(w)
    worker = WebhookDeliveryService(w.factory, w.clock, sender)

    async def check(a: Outcome, b: Outcome) -> None:
        _expect(a)
        _expect(b)
        async with w.factory.inner() as uow:
            (delivery,) = await uow.webhooks.list_deliveries(webhook.id, before=None, limit=5)
        times = sender.sent.count(f"msg_{delivery.id.hex}")
        assert times == 1, f"sent {times} times"
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)

    return Race(worker.deliver_due, worker.deliver_due, check)


async def webhook_delete_vs_delivery(w: _World) -> Race:
    """A webhook deleted while a worker delivers stays deleted, with no delivery left."""
    webhook, sender = await _webhook_with_a_due_delivery(w)
    admin = await w.user(Role.ADMINISTRATOR)
    worker = WebhookDeliveryService(w.factory, w.clock, sender)

    async def check(delete: Outcome, deliver: Outcome) -> None:
        _expect(delete)
        _expect(deliver)
        assert len(sender.sent) <= 1
        async with w.factory.inner() as uow:
            assert await uow.webhooks.get(webhook.id) is None, "the webhook came back"
            left = await uow.webhooks.list_deliveries(webhook.id, before=None, limit=5)
        assert list(left) == [], "a delivery outlived its webhook"

    return Race(
        lambda: w.afisha.webhooks.delete(admin, webhook.id),
        worker.deliver_due,
        check,
    )


RACES: dict[str, Callable[[_World], Awaitable[Race]]] = {
    race.__name__: race
    for race in (
        reset_vs_profile_edit,
        delete_vs_password_change,
        demote_vs_password_change,
        revoke_vs_last_seen,
        reset_vs_last_seen,
        password_change_vs_last_seen,
        deletion_vs_last_seen,
        login_vs_reset,
        login_vs_password_change,
        old_recovery_vs_reset,
        cancel_vs_edit,
        image_vs_edit,
        ack_vs_ack_all,
        leave_vs_reminder_claim,
        totp_confirm_vs_login,
        totp_disable_vs_login,
        totp_code_used_twice,
        recovery_code_used_twice,
        erasure_vs_profile_edit,
        erasure_vs_last_seen,
        erasure_by_two_workers,
        calendar_feed_rotated_twice,
        calendar_feed_revoke_vs_rotate,
        webhook_delivered_by_two_workers,
        webhook_delete_vs_delivery,
    )
}


class ConcurrencyContract:
    """Every race of this module, against the store of the ``uow_factory`` fixture.

    ``wait`` is how long the second writer gets while the first is paused (it may be
    waiting for a lock the first holds); ``hammer_rounds`` how many times each race
    is run with both writers at once.
    """

    pytestmark = pytest.mark.asyncio  # also under pytest-asyncio's strict mode

    wait: ClassVar[float] = 0.1
    hammer_rounds: ClassVar[int] = 10

    @pytest.mark.parametrize("race", sorted(RACES))
    async def test_every_interleaving_keeps_the_invariant(
        self, uow_factory: UnitOfWorkFactory, race: str
    ) -> None:
        """Each writer paused after each of its steps while the other runs; both orders."""
        world = _World.over(uow_factory)
        make = RACES[race]
        for swapped in (False, True):
            for step in range(1, MAX_STEPS + 1):
                played = await self._play(world, make, step=step, swapped=swapped)
                if not played:
                    break
            else:  # pragma: no cover - a use case with this many steps needs a bigger bound
                raise AssertionError(f"{race} takes more than {MAX_STEPS} steps")

    @pytest.mark.parametrize("race", sorted(RACES))
    async def test_both_writers_at_once_keep_the_invariant(
        self, uow_factory: UnitOfWorkFactory, race: str
    ) -> None:
        """Both writers started together, in either order, many times."""
        world = _World.over(uow_factory)
        rng = random.Random(race)  # noqa: S311 - picks an order, not a secret
        for _ in range(self.hammer_rounds):
            contest = await RACES[race](world)
            first, second = contest.a, contest.b
            swapped = rng.random() < 0.5
            if swapped:
                first, second = second, first
            async with asyncio.timeout(30):
                outcomes = await asyncio.gather(_outcome(first()), _outcome(second()))
            a, b = (outcomes[1], outcomes[0]) if swapped else (outcomes[0], outcomes[1])
            await contest.check(a, b)

    async def _play(
        self,
        world: _World,
        make: Callable[[_World], Awaitable[Race]],
        *,
        step: int,
        swapped: bool,
    ) -> bool:
        contest = await make(world)
        first, second = (contest.b, contest.a) if swapped else (contest.a, contest.b)
        async with asyncio.timeout(30):
            outcomes = await run_interleaved(first, second, pause_at=step, wait=self.wait)
        if outcomes is None:
            return False
        a, b = (outcomes[1], outcomes[0]) if swapped else outcomes
        try:
            await contest.check(a, b)
        except AssertionError as exc:
            who = "b" if swapped else "a"
            raise AssertionError(f"{who} paused after step {step}: {exc}") from exc
        return True


async def _outcome(awaitable: Awaitable[Any]) -> Outcome:
    try:
        return Outcome(value=await awaitable)
    except Exception as exc:  # the race's check decides which errors are acceptable
        return Outcome(error=exc)
