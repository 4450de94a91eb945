"""Registration with an emailed code, profiles, passwords, deletion and user admin."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import attrs

from afisha_core._pagination import decode_cursor
from afisha_core._validation import check_fields
from afisha_core.domain import (
    MAX_CODE_ATTEMPTS,
    AuditAction,
    AuditTarget,
    IssuedRegistration,
    Page,
    ParticipationStatus,
    Role,
    User,
)
from afisha_core.domain import _validators as v
from afisha_core.domain.passwords import check_password_strength
from afisha_core.errors import (
    InvalidCode,
    NotAuthenticated,
    NotFound,
    RateLimited,
    RegistrationNotFound,
    SystemUserProtected,
    TooManyAttempts,
    UsernameTaken,
    ValidationFailed,
    WrongCurrentPassword,
)
from afisha_core.ports import (
    Clock,
    PasswordHasher,
    RateLimiter,
    TokenGenerator,
    UnitOfWork,
    UnitOfWorkFactory,
    UserQuery,
)
from afisha_core.settings import Settings
from afisha_core.tokens import hash_token, tokens_equal
from afisha_core.usecases import messages
from afisha_core.usecases._common import check_limit, enqueue_email, make_page, require_admin
from afisha_core.usecases.audit import record
from afisha_core.usecases.participation import withdraw
from afisha_core.usecases.sessions import LoginResult, Principal, open_session
from afisha_core.usecases.webhooks import queue_webhooks, user_data

__all__ = ["AccountService"]

_CODE_RE = re.compile(r"^[0-9]{6}$")


def _check_account_fields(**values: str | None) -> None:
    """Run the User validators on the given fields (those not ``None``), all at once.

    The domain's own rules, so a name the store would refuse is a 422 here.
    """
    check_fields(User, {name: value for name, value in values.items() if value is not None})


@attrs.frozen
class AccountService:
    """Everything about accounts: register, confirm, profile, password, deletion, admin."""

    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenGenerator
    limiter: RateLimiter
    settings: Settings = attrs.field(factory=Settings)

    # --- registration ------------------------------------------------------------

    def _check_locale(self, locale: str | None) -> str:
        """``locale`` if a catalogue exists for it (``None``: the deployment default)."""
        if locale is None:
            return messages.texts(self.settings).resolve(self.settings.default_locale)
        if locale not in messages.texts(self.settings).locales:
            raise ValidationFailed.single(
                "locale",
                "is not a supported language",
                code="unsupported_locale",
            )
        return locale

    async def register(
        self,
        email: str,
        username: str,
        full_name: str,
        password: str,
        *,
        locale: str | None = None,
    ) -> str:
        """Issue a registration and mail its 6-digit code; return the registration token.

        The answer is the same whether or not the email already has an account: in
        that case the owner is mailed a notice instead of a code, and the token can
        never be confirmed. Raises :class:`ValidationFailed` for malformed fields,
        :class:`WeakPassword`, :class:`UsernameTaken` (usernames are public), and
        :class:`RateLimited` past 3 registrations per email per hour. ``locale`` (a
        language with a catalogue; ``None``: ``settings.default_locale``) is the language
        of the code email and of everything later sent to the user.
        """
        locale = self._check_locale(locale)
        email = v.normalize_email(email)
        full_name = full_name.strip()
        _check_account_fields(email=email, username=username, full_name=full_name)
        check_password_strength(password, username=username, email=email)
        limit = self.settings.registrations_per_email
        result = await self.limiter.hit(
            f"registrations:email:{email}", limit=limit.count, window=limit.window
        )
        if not result.allowed:
            raise RateLimited(result.retry_after, "Too many registrations for this email.")
        password_hash = await self.hasher.hash(password)
        token, code = self.tokens.token(), self.tokens.code()
        now = self.clock.now()
        async with self.uow() as uow:
            if await uow.users.get_by_username(username) is not None:
                raise UsernameTaken
            existing = await uow.users.get_by_email(email)
            registration = IssuedRegistration(
                id=uuid.uuid4(),
                token_hash=hash_token(token),
                code_hash=None if existing else hash_token(token, code),
                email=email,
                username=username,
                full_name=full_name,
                password_hash=password_hash,
                created_at=now,
                expires_at=now + self.settings.registration_ttl,
                locale=locale,
            )
            await uow.registrations.add(registration)
            # The owner of an existing account is written to in their own language.
            message = (
                messages.account_exists(self.settings, existing.locale)
                if existing
                else messages.registration_code(
                    full_name, code, self.settings.registration_ttl, self.settings, locale
                )
            )
            await enqueue_email(uow, now, message, email)
            await uow.commit()
        return token

    async def confirm(
        self,
        registration_token: str,
        code: str,
        *,
        user_agent: str = "",
        client_address: str | None = None,
    ) -> LoginResult:
        """Confirm a registration with its code: create the user and log them in.

        Raises :class:`RegistrationNotFound` (unknown, expired or already confirmed),
        :class:`InvalidCode` (the wrong code is counted), :class:`TooManyAttempts`
        (5 wrong codes: the registration is dead), :class:`EmailTaken` or
        :class:`UsernameTaken` when someone else got there first.
        """
        if not _CODE_RE.fullmatch(code):
            raise ValidationFailed.single("code", "must be 6 digits", code="six_digits")
        if not registration_token or len(registration_token) > 256:
            raise RegistrationNotFound
        now = self.clock.now()
        async with self.uow() as uow:
            registration = await uow.registrations.get_by_token_hash(hash_token(registration_token))
            if (
                registration is None
                or registration.confirmed_at is not None
                or now >= registration.expires_at
            ):
                raise RegistrationNotFound
            if registration.attempts >= MAX_CODE_ATTEMPTS:
                raise TooManyAttempts
            expected = registration.code_hash
            if expected is None or not tokens_equal(hash_token(registration_token, code), expected):
                attempts = registration.attempts + 1
                await uow.registrations.update(attrs.evolve(registration, attempts=attempts))
                await uow.commit()
                if attempts >= MAX_CODE_ATTEMPTS:
                    raise TooManyAttempts
                raise InvalidCode(MAX_CODE_ATTEMPTS - attempts)
            user = User(
                id=uuid.uuid4(),
                email=registration.email,
                username=registration.username,
                full_name=registration.full_name,
                password_hash=registration.password_hash,
                created_at=now,
                locale=registration.locale,
            )
            await uow.users.add(user)
            await uow.registrations.update(attrs.evolve(registration, confirmed_at=now))
            await queue_webhooks(uow, now, "user.registered", user_data(user))
            result = await open_session(
                uow,
                self.tokens,
                self.settings,
                user,
                now=now,
                user_agent=user_agent,
                client_address=client_address,
            )
            await uow.commit()
            return result

    async def create_administrator(
        self,
        email: str,
        username: str,
        password: str,
        *,
        full_name: str = "Administrator",
        is_system: bool | None = None,
    ) -> User:
        """Create an administrator directly (for the operator's command line).

        ``is_system`` left unset follows the first-administrator rule: the first
        administrator of a deployment is a system user (it can be neither deleted nor
        demoted), later ones are not. Raises :class:`ValidationFailed`,
        :class:`WeakPassword`, :class:`EmailTaken` or :class:`UsernameTaken`.
        """
        email = v.normalize_email(email)
        _check_account_fields(email=email, username=username, full_name=full_name)
        check_password_strength(password, username=username, email=email)
        user = User(
            id=uuid.uuid4(),
            email=email,
            username=username,
            full_name=full_name.strip(),
            password_hash=await self.hasher.hash(password),
            role=Role.ADMINISTRATOR,
            is_system=bool(is_system),
            created_at=self.clock.now(),
        )
        async with self.uow() as uow:
            if is_system is None:
                admins = await uow.users.list(UserQuery(role=Role.ADMINISTRATOR, limit=1))
                user = attrs.evolve(user, is_system=not admins)
            await uow.users.add(user)
            await uow.commit()
        return user

    # --- one's own account -------------------------------------------------------

    async def get_me(self, actor: User) -> User:
        """The actor's current account."""
        async with self.uow() as uow:
            return await self._live_user(uow, actor.id)

    async def update_profile(
        self,
        actor: User,
        *,
        full_name: str | None = None,
        username: str | None = None,
        locale: str | None = None,
    ) -> User:
        """Change the actor's full name, username and/or language (``locale``).

        Raises :class:`ValidationFailed` (also for a language without a catalogue) or
        :class:`UsernameTaken`.
        """
        if locale is not None:
            locale = self._check_locale(locale)
        if full_name is not None:
            full_name = full_name.strip()
        _check_account_fields(username=username, full_name=full_name)
        changes: dict[str, Any] = {}
        if full_name is not None:
            changes["full_name"] = full_name
        if username is not None:
            changes["username"] = username
        if locale is not None:
            changes["locale"] = locale
        async with self.uow() as uow:
            if not changes:
                return await self._live_user(uow, actor.id)
            user = await self._live_user(uow, actor.id, lock=True)
            user = attrs.evolve(user, **changes)
            await uow.users.update(user)
            await uow.commit()
            return user

    async def change_password(
        self,
        principal: Principal,
        current_password: str,
        new_password: str,
        *,
        client_address: str | None = None,
    ) -> None:
        """Set a new password after checking the current one; other sessions are revoked.

        Raises :class:`WrongCurrentPassword` (an :class:`InvalidCredentials`) for a wrong
        current password and
        :class:`WeakPassword` for a weak new one.
        """
        actor = principal.user
        check_password_strength(
            new_password, username=actor.username, email=actor.email, field="new_password"
        )
        new_hash = await self.hasher.hash(new_password)
        async with self.uow() as uow:
            user = await self._live_user(uow, actor.id, lock=True)
            if user.credential_version != principal.session.credential_version:
                raise NotAuthenticated  # the session predates a password change
            if not await self.hasher.verify(user.password_hash, current_password):
                raise WrongCurrentPassword("The current password is wrong.")
            now = self.clock.now()
            version = user.credential_version + 1
            await uow.users.update(
                attrs.evolve(user, password_hash=new_hash, credential_version=version)
            )
            revoked = await uow.sessions.revoke_all(user.id, now, except_uid=principal.session.uid)
            if not await uow.sessions.carry_over(principal.session.uid, version):
                raise NotAuthenticated  # the calling session was revoked meanwhile
            await record(
                uow,
                now,
                AuditAction.PASSWORD_CHANGED,
                actor_id=user.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
                details={"sessions_revoked": revoked},
            )
            await uow.commit()

    async def delete_me(
        self, principal: Principal, password: str, *, client_address: str | None = None
    ) -> None:
        """Delete the caller's own account after checking the password.

        Soft delete: every session is revoked, spots are given up (and go to the
        waitlist). Raises :class:`WrongCurrentPassword` (an :class:`InvalidCredentials`)
        or :class:`SystemUserProtected`.
        """
        async with self.uow() as uow:
            user = await self._live_user(uow, principal.user.id, lock=True)
            if not await self.hasher.verify(user.password_hash, password):
                raise WrongCurrentPassword("The password is wrong.")
            await self._soft_delete(uow, user)
            await record(
                uow,
                self.clock.now(),
                AuditAction.ACCOUNT_DELETED,
                actor_id=user.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
            )
            await uow.commit()

    # --- administration ----------------------------------------------------------

    async def list_users(
        self,
        actor: User,
        *,
        text: str | None = None,
        role: Role | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[User]:
        """A page of live users (administrators only), oldest first."""
        require_admin(actor, self.settings)
        check_limit(limit)
        query = UserQuery(
            text=text or None,
            role=role,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        async with self.uow() as uow:
            rows = await uow.users.list(query)
        return make_page(rows, limit, lambda u: (u.created_at, u.id))

    async def change_role(
        self, actor: User, user_id: uuid.UUID, role: Role, *, client_address: str | None = None
    ) -> User:
        """Set a user's role (administrators only).

        Raises :class:`NotFound` and, for demoting a system user,
        :class:`SystemUserProtected`.
        """
        require_admin(actor, self.settings)
        async with self.uow() as uow:
            user = await self._live_user(uow, user_id, lock=True)
            if user.role is role:
                return user
            if user.is_system:
                raise SystemUserProtected
            old_role = user.role
            user = attrs.evolve(user, role=role)
            await uow.users.update(user)
            await record(
                uow,
                self.clock.now(),
                AuditAction.USER_ROLE_CHANGED,
                actor_id=actor.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
                details={"from": old_role.value, "to": role.value},
            )
            await uow.commit()
            return user

    async def delete_user(
        self, actor: User, user_id: uuid.UUID, *, client_address: str | None = None
    ) -> None:
        """Soft-delete a user (administrators only); a system user cannot be deleted."""
        require_admin(actor, self.settings)
        async with self.uow() as uow:
            user = await self._live_user(uow, user_id, lock=True)
            await self._soft_delete(uow, user)
            await record(
                uow,
                self.clock.now(),
                AuditAction.USER_DELETED,
                actor_id=actor.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
            )
            await uow.commit()

    # --- helpers -----------------------------------------------------------------

    @staticmethod
    async def _live_user(uow: UnitOfWork, user_id: uuid.UUID, *, lock: bool = False) -> User:
        """The live user, locked for the rest of ``uow`` when it is about to be rewritten."""
        user = await (uow.users.get_for_update(user_id) if lock else uow.users.get(user_id))
        if user is None or user.is_deleted:
            raise NotFound
        return user

    async def _soft_delete(self, uow: UnitOfWork, user: User) -> None:
        if user.is_system:
            raise SystemUserProtected
        now: datetime = self.clock.now()
        await uow.users.update(attrs.evolve(user, deleted_at=now))
        await uow.sessions.revoke_all(user.id, now)
        active = await uow.participations.list_for_user(
            user.id,
            frozenset({ParticipationStatus.PARTICIPATING, ParticipationStatus.WAITLISTED}),
        )
        for participation in active:
            event = await uow.events.get_for_update(participation.event_id)
            if event is not None and not event.is_finished(now):
                await withdraw(uow, event, user.id, now, self.settings)
