"""Two-factor login with TOTP (RFC 6238): enrolment, confirmation, the second factor, disabling."""

from __future__ import annotations

import re
import uuid

import attrs

from afisha_core.domain import (
    RECOVERY_CODE_COUNT,
    AuditAction,
    AuditTarget,
    TotpCredential,
    TotpRecoveryCode,
    User,
)
from afisha_core.errors import (
    InvalidTotp,
    NotAuthenticated,
    NotFound,
    RateLimited,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    ValidationFailed,
    WrongCurrentPassword,
)
from afisha_core.ports import Clock, PasswordHasher, RateLimiter, UnitOfWork, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.totp import new_secret as new_totp_secret
from afisha_core.totp import otpauth_uri, verify_totp
from afisha_core.usecases._second_factor import (
    accept_second_factor,
    new_recovery_code,
    normalize_recovery_code,
    recovery_code_hash,
)
from afisha_core.usecases.audit import record
from afisha_core.usecases.sessions import Principal

__all__ = [
    "TotpEnrolment",
    "TotpService",
    "WrongTotp",
]

_TOTP_CODE_RE = re.compile(r"^[0-9]{6}$")


class WrongTotp(InvalidTotp):
    """A wrong code on an authenticated endpoint: 403, so the client keeps its session."""

    status = 403


@attrs.frozen(kw_only=True)
class TotpEnrolment:
    """A pending enrolment: the secret (shown this once) and its ``otpauth://`` URI."""

    secret: str = attrs.field(repr=False)
    otpauth_uri: str = attrs.field(repr=False)


@attrs.frozen
class TotpService:
    """Turning two-factor login on and off for one's own account."""

    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    limiter: RateLimiter
    settings: Settings = attrs.field(factory=Settings)

    async def enrol(
        self, principal: Principal, password: str, *, client_address: str | None = None
    ) -> TotpEnrolment:
        """Start an enrolment after checking the password: a new secret, pending.

        The secret is returned this once; TOTP is required only after :meth:`confirm`.
        Starting again replaces a pending secret. Raises :class:`WrongCurrentPassword` (403),
        :class:`TotpAlreadyEnabled`, and :class:`RateLimited` past the per-account
        login limit (wrong passwords here are counted like login attempts).
        """
        await self._count_attempt(principal.user)
        secret = new_totp_secret()
        async with self.uow() as uow:
            user = await self._locked(uow, principal)
            if not await self.hasher.verify(user.password_hash, password):
                raise WrongCurrentPassword
            if user.totp_enabled:
                raise TotpAlreadyEnabled
            await uow.totp.delete(user.id)
            await uow.totp.put(
                TotpCredential(user_id=user.id, secret=secret, created_at=self.clock.now())
            )
            await uow.commit()
        uri = otpauth_uri(secret, account=user.email, issuer=self.settings.totp_issuer)
        return TotpEnrolment(secret=secret, otpauth_uri=uri)

    async def confirm(
        self, principal: Principal, code: str, *, client_address: str | None = None
    ) -> list[str]:
        """Confirm the pending enrolment with a first code; return 10 recovery codes.

        From now on the login needs a code. Every other session of the user is
        revoked (they were opened with the password alone). The recovery codes are
        shown this once (only their hashes are kept). Raises :class:`ValidationFailed`
        for a code that is not 6 digits, :class:`TotpNotEnabled` without a pending
        enrolment, :class:`TotpAlreadyEnabled`, :class:`WrongTotp` (403) for a wrong
        code, :class:`RateLimited` past the per-account login limit.
        """
        if not _TOTP_CODE_RE.fullmatch(code.strip()):
            raise ValidationFailed.single("code", "must be 6 digits", code="six_digits")
        await self._count_attempt(principal.user)
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        now = self.clock.now()
        async with self.uow() as uow:
            user = await self._locked(uow, principal)
            if user.totp_enabled:
                raise TotpAlreadyEnabled
            credential = await uow.totp.get(user.id)
            if credential is None or credential.is_confirmed:
                raise TotpNotEnabled
            step = verify_totp(credential.secret, code.strip(), now)
            if step is None:
                raise WrongTotp
            await uow.totp.put(attrs.evolve(credential, confirmed_at=now, last_step=step))
            await uow.totp.add_recovery_codes(
                [
                    TotpRecoveryCode(
                        id=uuid.uuid4(),
                        user_id=user.id,
                        code_hash=recovery_code_hash(user.id, normalize_recovery_code(c) or c),
                        created_at=now,
                    )
                    for c in codes
                ]
            )
            await uow.users.update(attrs.evolve(user, totp_enabled=True))
            revoked = await uow.sessions.revoke_all(user.id, now, except_uid=principal.session.uid)
            await record(
                uow,
                now,
                AuditAction.TOTP_ENABLED,
                actor_id=user.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
                details={"sessions_revoked": revoked},
            )
            await uow.commit()
        return codes

    async def disable(
        self,
        principal: Principal,
        password: str,
        code: str,
        *,
        client_address: str | None = None,
    ) -> None:
        """Turn two-factor login off, with the password and a code (or a recovery code).

        The secret and every recovery code are removed. Raises :class:`TotpNotEnabled`,
        :class:`WrongCurrentPassword` (403), :class:`WrongTotp` (403; a code already used,
        at login for instance, is wrong here too), :class:`RateLimited` past the
        per-account login limit.
        """
        await self._count_attempt(principal.user)
        now = self.clock.now()
        async with self.uow() as uow:
            user = await self._locked(uow, principal)
            if not user.totp_enabled:
                raise TotpNotEnabled
            if not await self.hasher.verify(user.password_hash, password):
                raise WrongCurrentPassword
            if not await accept_second_factor(uow, user.id, code, now):
                raise WrongTotp
            await uow.totp.delete(user.id)
            await uow.users.update(attrs.evolve(user, totp_enabled=False))
            await record(
                uow,
                now,
                AuditAction.TOTP_DISABLED,
                actor_id=user.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
            )
            await uow.commit()

    async def _locked(self, uow: UnitOfWork, principal: Principal) -> User:
        user = await uow.users.get_for_update(principal.user.id)
        if user is None or user.is_deleted:
            raise NotFound
        if user.credential_version != principal.session.credential_version:
            raise NotAuthenticated  # the session predates a password change
        return user

    async def _count_attempt(self, user: User) -> None:
        """Count the attempt on the same per-account counter as logins."""
        limit = self.settings.login_attempts_per_account
        result = await self.limiter.hit(
            f"login-attempts:user:{user.id}", limit=limit.count, window=limit.window
        )
        if not result.allowed:
            raise RateLimited(result.retry_after, "Too many attempts; try again later.")
