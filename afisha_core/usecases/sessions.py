"""Logging in, authenticating a bearer token, and managing one's sessions."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta

import attrs

from afisha_core._pagination import decode_cursor
from afisha_core.domain import AuditAction, AuditTarget, LoginSession, Page, User
from afisha_core.errors import (
    AfishaError,
    InvalidCredentials,
    InvalidTotp,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    TotpRequired,
)
from afisha_core.ports import (
    Clock,
    PasswordHasher,
    RateLimiter,
    TokenGenerator,
    UnitOfWork,
    UnitOfWorkFactory,
)
from afisha_core.settings import Settings
from afisha_core.tokens import hash_token
from afisha_core.usecases._common import check_limit, make_page
from afisha_core.usecases._second_factor import accept_second_factor
from afisha_core.usecases.audit import record

__all__ = ["LoginResult", "Principal", "SessionService", "open_session"]

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 256
#: Sessions remembered by ``SessionService.seen_due`` before the memory is cleared.
_SEEN_LIMIT = 10_000
MAX_LOGIN_LENGTH = 254


def _printable(text: str) -> str:
    """``text`` without control characters (headers are the client's to fill)."""
    return "".join(c for c in text if c.isprintable())


@attrs.frozen(kw_only=True)
class Principal:
    """Who is calling: the user and the session their token belongs to."""

    user: User
    session: LoginSession


@attrs.frozen(kw_only=True)
class LoginResult:
    """A new session: the bearer ``token`` (shown once, never stored) and what it opens."""

    user: User
    session: LoginSession
    token: str = attrs.field(repr=False)


async def open_session(
    uow: UnitOfWork,
    tokens: TokenGenerator,
    settings: Settings,
    user: User,
    *,
    now: datetime,
    user_agent: str,
    client_address: str | None,
) -> LoginResult:
    """Create a session for ``user`` in the caller's unit of work.

    The session records ``user.credential_version``: the caller must have read
    ``user`` in this unit of work (locked, or just created) so that a password change
    committed meanwhile cannot be missed.
    """
    token = tokens.token()
    session = LoginSession(
        uid=uuid.uuid4(),
        user_id=user.id,
        token_hash=hash_token(token),
        user_agent=_printable(user_agent)[:512],
        client_address=_printable(client_address)[:64] if client_address else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + settings.session_ttl,
        credential_version=user.credential_version,
    )
    await uow.sessions.add(session)
    return LoginResult(user=user, session=session, token=token)


@attrs.define
class SessionService:
    """Login with uniform failures, bearer authentication, listing and revoking sessions."""

    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenGenerator
    limiter: RateLimiter
    settings: Settings = attrs.field(factory=Settings)
    _dummy_hash: str | None = attrs.field(default=None, init=False, repr=False)
    # When this process last asked to record each session as seen, so concurrent
    # requests of one session write ``last_seen_at`` once per interval, not each.
    _seen: dict[uuid.UUID, datetime] = attrs.field(factory=dict, init=False, repr=False)

    async def login(
        self,
        login: str,
        password: str,
        *,
        totp_code: str | None = None,
        user_agent: str = "",
        client_address: str | None = None,
    ) -> LoginResult:
        """Log in by email or username (and a one-time code when the account has TOTP).

        An unknown user, a deleted user and a wrong password all raise
        :class:`InvalidCredentials` after the same work (a dummy hash is verified when
        there is no user). Attempts are counted per account (per typed login when
        there is no such account) *before* the password is checked, so parallel
        guesses cannot slip past the limit: past it :class:`RateLimited` is raised and
        no password is checked. A successful login clears the per-account counter.
        Only failed logins count against the client address (many people behind one
        office NAT log in all day); the address is refused once it has too many.

        For an account with two-factor login, after the right password:
        :class:`TotpRequired` without ``totp_code``, :class:`InvalidTotp` for a wrong
        code or one already used (each attempt counted by the same limits). The code
        is checked with the user locked, so TOTP turned on meanwhile is never skipped.
        Every failure but the rate limit and a missing code is written to the audit log.
        """
        dummy_hash = await self._dummy()  # made up front so every path costs the same
        async with self.uow(read_only=True) as uow:
            user = await self._find(uow, login)
        login_key = (
            f"login-attempts:user:{user.id}"
            if user
            else "login-attempts:login:" + login.strip().casefold()[:MAX_LOGIN_LENGTH]
        )
        address_key = f"login-attempts:address:{client_address}" if client_address else None
        await self._count_attempt(login_key, address_key)
        valid = await self.hasher.verify(user.password_hash if user else dummy_hash, password)
        if user is None or not valid:
            await self._count_failure(address_key)
            await self._record_failure(user, "password", client_address)
            raise InvalidCredentials
        new_hash = (
            await self.hasher.hash(password)
            if self.hasher.needs_rehash(user.password_hash)
            else None
        )
        now = self.clock.now()
        failure: AfishaError | None = None
        async with self.uow() as uow:
            # Locked, and the password must still be the one just verified: a reset or
            # change committed since then wins and this login fails like a wrong password.
            current = await uow.users.get_for_update(user.id)
            if (
                current is None
                or current.is_deleted
                or current.credential_version != user.credential_version
                or current.password_hash != user.password_hash
            ):
                raise InvalidCredentials
            if current.totp_enabled:
                if not totp_code:
                    raise TotpRequired
                if not await accept_second_factor(uow, current.id, totp_code, now):
                    failure = InvalidTotp()
            if failure is None:
                if new_hash is not None:
                    current = attrs.evolve(current, password_hash=new_hash)
                    await uow.users.update(current)
                result = await open_session(
                    uow,
                    self.tokens,
                    self.settings,
                    current,
                    now=now,
                    user_agent=user_agent,
                    client_address=client_address,
                )
                await uow.commit()
        if failure is not None:
            await self._count_failure(address_key)
            await self._record_failure(user, "totp", client_address)
            raise failure
        try:
            await self.limiter.reset(login_key)
        except ServiceUnavailable:  # the session exists: hand it out; the counter expires
            logger.warning("could not reset the login counter %s", login_key, exc_info=True)
        return result

    async def _count_failure(self, address_key: str | None) -> None:
        """Count a failed login (a wrong password or code) against the client address."""
        if address_key:
            limit = self.settings.login_attempts_per_address
            await self.limiter.hit(address_key, limit=limit.count, window=limit.window)

    async def _record_failure(
        self, user: User | None, reason: str, client_address: str | None
    ) -> None:
        """Write a failed login to the audit log, in its own unit of work (nothing changed)."""
        async with self.uow() as uow:
            await record(
                uow,
                self.clock.now(),
                AuditAction.LOGIN_FAILED,
                actor_id=None,
                target=AuditTarget.USER if user else None,
                target_id=user.id if user else None,
                client_address=client_address,
                details={"reason": reason},
            )
            await uow.commit()

    async def authenticate(self, token: str, *, record_seen: bool = True) -> Principal:
        """The caller behind a bearer token, found in one read.

        Raises :class:`NotAuthenticated` for a missing, unknown, revoked or expired
        token, one whose user was deleted, or one opened before the password last
        changed. With ``record_seen`` (the default) it also records ``last_seen_at``
        when :meth:`seen_due` says so, raising :class:`NotAuthenticated` if the session
        was revoked meanwhile. A server that would rather answer first passes
        ``record_seen=False`` and calls :meth:`record_seen` once the response is out.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise NotAuthenticated
        now = self.clock.now()
        async with self.uow(read_only=True) as uow:
            found = await uow.sessions.get_with_user(hash_token(token))
        if found is None:
            raise NotAuthenticated
        session, user = found
        if (
            not session.is_active(now)
            or user.is_deleted
            or user.credential_version != session.credential_version
        ):
            raise NotAuthenticated
        principal = Principal(user=user, session=session)
        if record_seen and self.seen_due(principal, now):
            if not await self.record_seen(principal, now):
                raise NotAuthenticated  # revoked since it was read
            principal = attrs.evolve(principal, session=attrs.evolve(session, last_seen_at=now))
        return principal

    def seen_due(self, principal: Principal, now: datetime | None = None) -> bool:
        """Whether the caller's ``last_seen_at`` is due for a write.

        It is once ``session_touch_interval`` has passed since the stored value and
        since this process last recorded the session (concurrent requests of one
        session write it once). Reads nothing.
        """
        now = now or self.clock.now()
        last = principal.session.last_seen_at
        asked = self._seen.get(principal.session.uid)
        if asked is not None and asked > last:
            last = asked
        return now - last >= self.settings.session_touch_interval

    async def record_seen(self, principal: Principal, now: datetime | None = None) -> bool:
        """Write ``last_seen_at = now`` for the caller's session (one conditioned UPDATE).

        Writes only that column and only while the session is live, so a revocation
        committed meanwhile is never undone. Returns whether the session was live.
        """
        now = now or self.clock.now()
        uid = principal.session.uid
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[uid] = now
        async with self.uow() as uow:
            live = await uow.sessions.touch(uid, now)
            await uow.commit()
        if live:
            return True
        # Seen at or after ``now`` by another request is live too; revoked is not.
        async with self.uow(read_only=True) as uow:
            session = await uow.sessions.get(uid)
        return session is not None and session.revoked_at is None

    async def list_sessions(
        self, actor: User, *, limit: int = 20, cursor: str | None = None
    ) -> Page[LoginSession]:
        """A page of the actor's active sessions, newest first.

        Raises :class:`ValidationFailed` for a ``limit`` outside 1..100 or a bad cursor.
        """
        check_limit(limit)
        before = decode_cursor(cursor) if cursor else None
        async with self.uow(read_only=True) as uow:
            rows = await uow.sessions.list_active(
                actor.id, self.clock.now(), before=before, limit=limit + 1
            )
        return make_page(rows, limit, lambda s: (s.created_at, s.uid))

    async def revoke(
        self, actor: User, uid: uuid.UUID, *, client_address: str | None = None
    ) -> None:
        """Revoke one of the actor's sessions (written to the audit log).

        Raises :class:`NotFound` for an unknown, already ended or another user's session.
        """
        await self._revoke(actor, uid, client_address=client_address, audited=True)

    async def logout(self, principal: Principal) -> None:
        """Revoke the session the caller used (an ordinary logout: not audited)."""
        await self._revoke(
            principal.user, principal.session.uid, client_address=None, audited=False
        )

    async def _revoke(
        self, actor: User, uid: uuid.UUID, *, client_address: str | None, audited: bool
    ) -> None:
        now = self.clock.now()
        async with self.uow() as uow:
            session = await uow.sessions.get(uid)
            if session is None or session.user_id != actor.id or not session.is_active(now):
                raise NotFound
            if not await uow.sessions.revoke(uid, now):
                raise NotFound  # revoked by someone else meanwhile
            if audited:
                await record(
                    uow,
                    now,
                    AuditAction.SESSIONS_REVOKED,
                    actor_id=actor.id,
                    target=AuditTarget.SESSION,
                    target_id=uid,
                    client_address=client_address,
                    details={"count": 1},
                )
            await uow.commit()

    async def _find(self, uow: UnitOfWork, login: str) -> User | None:
        login = login.strip()
        if not login or len(login) > MAX_LOGIN_LENGTH or "\x00" in login:
            return None  # no account can have it (and some stores cannot even look)
        if "@" in login:
            return await uow.users.get_by_email(login.lower())
        return await uow.users.get_by_username(login.lower())

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def _count_attempt(self, login_key: str, address_key: str | None) -> None:
        waits: list[timedelta] = []
        account = self.settings.login_attempts_per_account
        result = await self.limiter.hit(login_key, limit=account.count, window=account.window)
        if not result.allowed:
            waits.append(result.retry_after)
        if address_key:  # only looked at here: failures are counted after the check
            address = self.settings.login_attempts_per_address
            seen = await self.limiter.peek(address_key, limit=address.count, window=address.window)
            if not seen.allowed:
                waits.append(seen.retry_after)
        if waits:
            raise RateLimited(max(waits), "Too many login attempts; try again later.")
