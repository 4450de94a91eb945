"""Password recovery by a single-use emailed link."""

from __future__ import annotations

import logging
import uuid

import attrs

from afisha_core.domain import AuditAction, AuditTarget, IssuedLoginRecovery
from afisha_core.domain import _validators as v
from afisha_core.domain.passwords import check_password_strength
from afisha_core.errors import RecoveryTokenInvalid, ValidationFailed
from afisha_core.ports import Clock, PasswordHasher, RateLimiter, TokenGenerator, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.tokens import hash_token
from afisha_core.usecases import messages
from afisha_core.usecases._common import enqueue_email
from afisha_core.usecases.audit import record

__all__ = ["RecoveryService"]

logger = logging.getLogger(__name__)


@attrs.frozen
class RecoveryService:
    """Ask for a recovery link, and set a new password with it."""

    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenGenerator
    limiter: RateLimiter
    settings: Settings = attrs.field(factory=Settings)

    async def request(self, email: str, *, locale: str | None = None) -> None:
        """Mail a recovery link if ``email`` belongs to a live user; answer the same either way.

        An address without an account is mailed a note saying so (nothing else
        would cost the same time, and its owner learns why no link came).

        Past the per-email limit (counted for every address, known or not) nothing
        is mailed, but the answer stays the same: the HTTP contract promises "accepted" always,
        and a different answer would tell a flooder nothing useful anyway. Raises
        only :class:`ValidationFailed` for a malformed address. A user is written to in
        their own language; an address without an account in ``locale`` (the caller's;
        ``None``: the deployment default).
        """
        locale = locale or self.settings.default_locale
        email = v.normalize_email(email)
        if not v.is_valid_email(email):
            raise ValidationFailed.single(
                "email", "is not a valid email address", code="invalid_email"
            )
        limit = self.settings.recoveries_per_email
        result = await self.limiter.hit(
            f"recoveries:email:{email}", limit=limit.count, window=limit.window
        )
        if not result.allowed:
            logger.info("recovery mail limit reached for an address; nothing sent")
            return
        now = self.clock.now()
        async with self.uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None:
                # The same work as for an account (one mail, one commit), so the time
                # to answer does not tell whether the address has an account.
                await enqueue_email(
                    uow, now, messages.recovery_no_account(self.settings, locale), email
                )
                await uow.commit()
                return
            token = self.tokens.token()
            await uow.recoveries.add(
                IssuedLoginRecovery(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + self.settings.recovery_ttl,
                    credential_version=user.credential_version,
                )
            )
            message = messages.recovery_link(
                user, self.settings.recovery_url(token), self.settings.recovery_ttl, self.settings
            )
            await enqueue_email(uow, now, message, user.email)
            await uow.commit()

    async def complete(
        self, recovery_token: str, new_password: str, *, client_address: str | None = None
    ) -> None:
        """Set a new password with a recovery token; the token is used up.

        Every session of the user is revoked, and every other recovery link of the
        user stops working (they were issued under the old password). Raises
        :class:`RecoveryTokenInvalid` for an unknown, used or expired token, a deleted
        user, or a token issued before the password last changed, and
        :class:`WeakPassword` for a weak password (the token stays usable).
        """
        check_password_strength(new_password)
        if not recovery_token or len(recovery_token) > 256:
            raise RecoveryTokenInvalid
        new_hash = await self.hasher.hash(new_password)
        now = self.clock.now()
        async with self.uow() as uow:
            recovery = await uow.recoveries.get_by_token_hash(hash_token(recovery_token))
            if recovery is None or not recovery.is_usable(now):
                raise RecoveryTokenInvalid
            user = await uow.users.get_for_update(recovery.user_id)
            if (
                user is None
                or user.is_deleted
                or user.credential_version != recovery.credential_version
            ):
                raise RecoveryTokenInvalid  # the password changed since the link was sent
            check_password_strength(new_password, username=user.username, email=user.email)
            await uow.users.update(
                attrs.evolve(
                    user, password_hash=new_hash, credential_version=user.credential_version + 1
                )
            )
            await uow.recoveries.update(attrs.evolve(recovery, used_at=now))
            revoked = await uow.sessions.revoke_all(user.id, now)
            await record(
                uow,
                now,
                AuditAction.PASSWORD_RESET,
                actor_id=user.id,
                target=AuditTarget.USER,
                target_id=user.id,
                client_address=client_address,
                details={"sessions_revoked": revoked},
            )
            await uow.commit()
