"""The audit log: writing an entry in the caller's unit of work, and reading the log."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

import attrs

from afisha_core._pagination import decode_cursor
from afisha_core.domain import AuditAction, AuditEntry, AuditTarget, Page, User
from afisha_core.domain.audit import DetailValue
from afisha_core.ports import AuditQuery, Clock, UnitOfWork, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.usecases._common import check_limit, make_page, require_admin

__all__ = ["AuditService", "record"]


def _address(client_address: str | None) -> str | None:
    if not client_address:
        return None
    return "".join(c for c in client_address if c.isprintable())[:64] or None


async def record(
    uow: UnitOfWork,
    now: datetime,
    action: AuditAction,
    *,
    actor_id: uuid.UUID | None,
    target: AuditTarget | None = None,
    target_id: uuid.UUID | None = None,
    client_address: str | None = None,
    details: Mapping[str, DetailValue] | None = None,
) -> AuditEntry:
    """Append an audit entry in the caller's unit of work (so it commits with the change)."""
    entry = AuditEntry(
        id=uuid.uuid4(),
        at=now,
        actor_id=actor_id,
        action=action,
        target_type=target,
        target_id=target_id,
        ip=_address(client_address),
        details=dict(details or {}),
    )
    await uow.audit.add(entry)
    return entry


@attrs.frozen
class AuditService:
    """Reading the audit log (administrators only)."""

    uow: UnitOfWorkFactory
    clock: Clock
    settings: Settings = attrs.field(factory=Settings)

    async def list_entries(
        self,
        actor: User,
        *,
        actor_id: uuid.UUID | None = None,
        action: AuditAction | None = None,
        target_id: uuid.UUID | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """A page of entries matching every given filter, newest first.

        Raises :class:`~afisha_core.errors.Forbidden` for a non-administrator.
        """
        require_admin(actor, self.settings)
        check_limit(limit)
        query = AuditQuery(
            actor_id=actor_id,
            action=action,
            target_id=target_id,
            starts_from=starts_from,
            starts_before=starts_before,
            before=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        async with self.uow() as uow:
            rows = await uow.audit.list(query)
        return make_page(rows, limit, lambda e: (e.at, e.id))
