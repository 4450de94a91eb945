"""Personal data: everything stored about a person (export), and erasing deleted accounts."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

import attrs

from afisha_core.domain import (
    AuditAction,
    AuditEntry,
    AuditTarget,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participation,
    ParticipationStatus,
    TotpCredential,
    TotpRecoveryCode,
    User,
)
from afisha_core.errors import NotFound
from afisha_core.ports import AuditQuery, Clock, UnitOfWork, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases.audit import record

__all__ = ["PersonalData", "PersonalDataService", "erased_placeholders"]

logger = logging.getLogger(__name__)

_ALL_STATUSES = frozenset(ParticipationStatus)
_AUDIT_PAGE = 500


@attrs.frozen(kw_only=True)
class PersonalData:
    """Every row the store holds about one person.

    Secrets and hashes are in it too; whoever shows it leaves them out (the HTTP
    export does).
    """

    user: User
    sessions: list[LoginSession]
    participations: list[Participation]
    notifications: list[InstantNotification]
    audit: list[AuditEntry]
    totp: TotpCredential | None
    recovery_codes: list[TotpRecoveryCode]
    recoveries: list[IssuedLoginRecovery]
    registrations: list[IssuedRegistration]
    mail: list[OutboxMessage]


def erased_placeholders(user_id: uuid.UUID) -> dict[str, Any]:
    """The anonymous values an erased account's personal fields get.

    They pass the User validators (an ``.invalid`` address, RFC 2606) and say nothing
    about the person; they derive from the id only, which every other row holds anyway.
    """
    return {
        "email": f"erased-{user_id.hex}@erased.invalid",
        "username": f"erased-{user_id.hex[:24]}",
        "full_name": "Erased account",
        "password_hash": "!erased",
    }


@attrs.frozen
class PersonalDataService:
    """The export of one's own data, and the erasure of deleted accounts (the worker's)."""

    uow: UnitOfWorkFactory
    clock: Clock
    settings: Settings = attrs.field(factory=Settings)

    async def export(self, actor: User) -> PersonalData:
        """Everything stored about the actor, read in one unit of work.

        Raises :class:`NotFound` when the account is gone (deleted meanwhile).
        """
        async with self.uow() as uow:
            user = await uow.users.get(actor.id)
            if user is None or user.is_deleted:
                raise NotFound
            data = uow.personal_data
            return PersonalData(
                user=user,
                sessions=list(await data.list_sessions(user.id)),
                participations=list(await uow.participations.list_for_user(user.id, _ALL_STATUSES)),
                notifications=list(await data.list_notifications(user.id)),
                audit=await _audit_about(uow, user.id),
                totp=await uow.totp.get(user.id),
                recovery_codes=list(await uow.totp.list_recovery_codes(user.id)),
                recoveries=list(await data.list_recoveries(user.id)),
                registrations=list(await data.list_registrations(user.email)),
                mail=list(await data.list_mail(user.email)),
            )

    async def erase_due(self, *, batch_size: int = 100) -> int:
        """Erase the personal data of accounts deleted at least ``deleted_retention`` ago.

        Each account in its own unit of work, with the user locked: the email,
        username, full name and password hash get anonymous placeholders
        (:func:`erased_placeholders`), and its sessions (user agents, addresses),
        recovery tokens, notifications, TOTP secret and codes, registrations and
        mail are deleted. Participations stay, so events keep their counts; the
        audit log stays (it holds ids and addresses, never names), with an
        ``account.erased`` entry added. Returns how many accounts were erased.
        """
        now = self.clock.now()
        cutoff = now - self.settings.deleted_retention
        erased = 0
        while True:
            async with self.uow() as uow:
                due = list(await uow.personal_data.list_erasable(cutoff, batch_size))
            done_in_batch = 0
            for user_id in due:
                if await self.erase_account(user_id, now=now):
                    done_in_batch += 1
            erased += done_in_batch
            if len(due) < batch_size or done_in_batch == 0:
                return erased

    async def erase_account(self, user_id: uuid.UUID, *, now: datetime | None = None) -> bool:
        """Erase one account if it is due (deleted at least ``deleted_retention`` ago).

        Returns whether it was erased now: ``False`` for an unknown, live, not yet due
        or already erased account (another worker may have been first).
        """
        now = now or self.clock.now()
        cutoff = now - self.settings.deleted_retention
        async with self.uow() as uow:
            user = await uow.users.get_for_update(user_id)
            if (
                user is None
                or user.deleted_at is None
                or user.deleted_at > cutoff
                or user.erased_at is not None
            ):
                return False  # restored, or erased by another worker meanwhile
            removed = await uow.personal_data.delete_rows(user.id, user.email)
            await uow.users.update(
                attrs.evolve(
                    user, **erased_placeholders(user.id), totp_enabled=False, erased_at=now
                )
            )
            await record(
                uow,
                now,
                AuditAction.ACCOUNT_ERASED,
                actor_id=None,
                target=AuditTarget.USER,
                target_id=user.id,
                details={"rows_deleted": removed},
            )
            await uow.commit()
        logger.info("erased the personal data of deleted account %s", user_id)
        return True


async def _audit_about(uow: UnitOfWork, user_id: uuid.UUID) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    before = None
    while True:
        page = list(
            await uow.audit.list(AuditQuery(involving=user_id, before=before, limit=_AUDIT_PAGE))
        )
        entries.extend(page)
        if len(page) < _AUDIT_PAGE:
            return entries
        before = (page[-1].at, page[-1].id)
