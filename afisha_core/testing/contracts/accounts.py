"""The contract of the TOTP repository and the audit log, for every store to pass.

:class:`AccountSecurityContract` is a mixin of
:class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract` (it needs the
same ``uow_factory`` fixture over an empty store), so every store that runs the
repository contract runs these tests too.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest

from afisha_core.domain import (
    AuditAction,
    AuditEntry,
    AuditTarget,
    TotpCredential,
    TotpRecoveryCode,
)
from afisha_core.ports import AuditQuery, UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_email,
    make_notification,
    make_outbox_message,
    make_recovery,
    make_registration,
    make_session,
    make_user,
)

__all__ = ["AccountSecurityContract", "PersonalDataContract"]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _code(user_id: UUID, n: int, **overrides: object) -> TotpRecoveryCode:
    fields: dict[str, object] = {
        "id": uuid4(),
        "user_id": user_id,
        "code_hash": hashlib.sha256(f"{user_id}:{n}".encode()).hexdigest(),
        "created_at": T0 + timedelta(seconds=n),
    }
    fields.update(overrides)
    return TotpRecoveryCode(**fields)  # type: ignore[arg-type]


def _entry(**overrides: object) -> AuditEntry:
    fields: dict[str, object] = {"id": uuid4(), "at": T0, "action": AuditAction.EVENT_CREATED}
    fields.update(overrides)
    return AuditEntry(**fields)  # type: ignore[arg-type]


class AccountSecurityContract:
    """TOTP credentials, recovery codes and the append-only audit log."""

    pytestmark = pytest.mark.asyncio

    async def _user(self, uow_factory: UnitOfWorkFactory, **overrides: object) -> UUID:
        user = make_user(**overrides)
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user.id

    async def _confirmed(self, uow_factory: UnitOfWorkFactory, last_step: int | None) -> UUID:
        user_id = await self._user(uow_factory)
        async with uow_factory() as uow:
            await uow.totp.put(
                TotpCredential(
                    user_id=user_id,
                    secret=SECRET,
                    created_at=T0,
                    confirmed_at=T0,
                    last_step=last_step,
                )
            )
            await uow.commit()
        return user_id

    # --- users ---------------------------------------------------------------------

    async def test_a_users_totp_flag_round_trips(self, uow_factory: UnitOfWorkFactory) -> None:
        """A user's ``totp_enabled`` is stored and read back."""
        user = make_user()
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        async with uow_factory() as uow:
            stored = await uow.users.get_for_update(user.id)
            assert stored is not None
            assert not stored.totp_enabled
            await uow.users.update(attrs.evolve(stored, totp_enabled=True))
            await uow.commit()
        async with uow_factory() as uow:
            again = await uow.users.get(user.id)
        assert again is not None
        assert again.totp_enabled

    # --- TOTP credentials ------------------------------------------------------------

    async def test_a_credential_round_trips_and_put_replaces_it(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """``put`` stores a credential, and a second ``put`` replaces it."""
        user_id = await self._user(uow_factory)
        pending = TotpCredential(user_id=user_id, secret=SECRET, created_at=T0)
        async with uow_factory() as uow:
            assert await uow.totp.get(user_id) is None
            await uow.totp.put(pending)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.totp.get(user_id) == pending
            confirmed = TotpCredential(
                user_id=user_id,
                secret="KRSXG5CTMVRXEZLU",
                created_at=T0 + timedelta(minutes=1),
                confirmed_at=T0 + timedelta(minutes=2),
                last_step=2**40,
            )
            await uow.totp.put(confirmed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.totp.get(user_id) == confirmed

    async def test_use_step_accepts_only_newer_steps_of_a_confirmed_credential(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A step is accepted once, only if newer, only for a confirmed credential."""
        user_id = await self._confirmed(uow_factory, last_step=None)
        async with uow_factory() as uow:
            assert await uow.totp.use_step(user_id, 100)
            assert not await uow.totp.use_step(user_id, 100)
            assert not await uow.totp.use_step(user_id, 99)
            assert await uow.totp.use_step(user_id, 101)
            await uow.commit()
        async with uow_factory() as uow:
            stored = await uow.totp.get(user_id)
            assert stored is not None
            assert stored.last_step == 101
            assert not await uow.totp.use_step(uuid4(), 500)  # nobody's credential
        pending_user = await self._user(uow_factory)
        async with uow_factory() as uow:
            await uow.totp.put(TotpCredential(user_id=pending_user, secret=SECRET, created_at=T0))
            await uow.commit()
        async with uow_factory() as uow:
            assert not await uow.totp.use_step(pending_user, 500)  # pending: no login codes

    async def test_one_step_used_concurrently_is_accepted_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """The conditional write lets one of many racing callers through."""
        user_id = await self._confirmed(uow_factory, last_step=10)

        async def use() -> bool:
            async with uow_factory() as uow:
                accepted = await uow.totp.use_step(user_id, 11)
                await asyncio.sleep(0)
                await uow.commit()
                return accepted

        results = await asyncio.gather(*(use() for _ in range(8)))
        assert results.count(True) == 1

    async def test_delete_removes_the_credential_and_every_recovery_code(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Disabling leaves nothing of the user's TOTP behind, and nobody else's goes."""
        user_id = await self._confirmed(uow_factory, last_step=1)
        other_id = await self._confirmed(uow_factory, last_step=1)
        async with uow_factory() as uow:
            await uow.totp.add_recovery_codes([_code(user_id, n) for n in range(3)])
            await uow.totp.add_recovery_codes([_code(other_id, n) for n in range(2)])
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.totp.delete(user_id)
            assert not await uow.totp.delete(uuid4())
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.totp.get(user_id) is None
            assert list(await uow.totp.list_recovery_codes(user_id)) == []
            assert len(await uow.totp.list_recovery_codes(other_id)) == 2
            assert await uow.totp.get(other_id) is not None

    async def test_recovery_codes_round_trip_in_order_and_work_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Recovery codes are listed in order, and each is used once."""
        user_id = await self._confirmed(uow_factory, last_step=None)
        codes = [_code(user_id, n) for n in (2, 0, 1)]
        async with uow_factory() as uow:
            await uow.totp.add_recovery_codes(codes)
            await uow.commit()
        async with uow_factory() as uow:
            listed = list(await uow.totp.list_recovery_codes(user_id))
            assert listed == sorted(codes, key=lambda c: (c.created_at, c.id))
            later = T0 + timedelta(hours=1)
            assert await uow.totp.use_recovery_code(user_id, codes[0].code_hash, later)
            assert not await uow.totp.use_recovery_code(user_id, codes[0].code_hash, later)
            assert not await uow.totp.use_recovery_code(uuid4(), codes[1].code_hash, later)
            assert not await uow.totp.use_recovery_code(user_id, "0" * 64, later)
            await uow.commit()
        async with uow_factory() as uow:
            by_id = {c.id: c for c in await uow.totp.list_recovery_codes(user_id)}
        assert by_id[codes[0].id].used_at == later
        assert by_id[codes[1].id].used_at is None

    async def test_a_recovery_code_used_concurrently_is_accepted_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A recovery code raced by many callers is accepted once."""
        user_id = await self._confirmed(uow_factory, last_step=None)
        code = _code(user_id, 0)
        async with uow_factory() as uow:
            await uow.totp.add_recovery_codes([code])
            await uow.commit()

        async def use(n: int) -> bool:
            async with uow_factory() as uow:
                accepted = await uow.totp.use_recovery_code(
                    user_id, code.code_hash, T0 + timedelta(minutes=n)
                )
                await asyncio.sleep(0)
                await uow.commit()
                return accepted

        results = await asyncio.gather(*(use(n) for n in range(8)))
        assert results.count(True) == 1

    # --- the audit log ---------------------------------------------------------------

    async def test_an_audit_entry_round_trips_with_its_details(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Every field comes back, ``details`` included (JSON-hostile text too)."""
        full = _entry(
            actor_id=uuid4(),
            action=AuditAction.USER_ROLE_CHANGED,
            target_type=AuditTarget.USER,
            target_id=uuid4(),
            ip="2001:db8::1",
            details={"from": "USER", "to": "ADMINISTRATOR", "n": 3, "ok": True, "x": None,
                     "text": "ünïcødé \"quoted\" \\ {json}"},
        )  # fmt: skip
        bare = _entry(at=T0 + timedelta(seconds=1), action=AuditAction.LOGIN_FAILED)
        async with uow_factory() as uow:
            await uow.audit.add(full)
            await uow.audit.add(bare)
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.audit.list(AuditQuery())) == [bare, full]

    async def test_the_audit_log_pages_newest_first_by_at_then_id(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Keyset pages by ``(at, id)`` descending cover every entry once."""
        entries = [_entry(at=T0 + timedelta(minutes=m % 4)) for m in range(11)]
        async with uow_factory() as uow:
            for entry in entries:
                await uow.audit.add(entry)
            await uow.commit()
        expected = sorted(entries, key=lambda e: (e.at, e.id), reverse=True)
        seen: list[AuditEntry] = []
        before = None
        async with uow_factory() as uow:
            while True:
                page = list(await uow.audit.list(AuditQuery(before=before, limit=3)))
                if not page:
                    break
                seen.extend(page)
                before = (page[-1].at, page[-1].id)
        assert seen == expected

    async def test_the_audit_log_filters(self, uow_factory: UnitOfWorkFactory) -> None:
        """Each filter, and filters combined."""
        ann, bob, event = uuid4(), uuid4(), uuid4()
        a = _entry(actor_id=ann, target_type=AuditTarget.EVENT, target_id=event)
        b = _entry(
            at=T0 + timedelta(hours=1),
            actor_id=bob,
            action=AuditAction.USER_DELETED,
            target_type=AuditTarget.USER,
            target_id=ann,
        )
        c = _entry(at=T0 + timedelta(hours=2), action=AuditAction.LOGIN_FAILED, target_id=bob)
        async with uow_factory() as uow:
            for entry in (a, b, c):
                await uow.audit.add(entry)
            await uow.commit()

        async def ids(**query: object) -> set[UUID]:
            async with uow_factory() as uow:
                return {e.id for e in await uow.audit.list(AuditQuery(**query))}  # type: ignore[arg-type]

        assert await ids(actor_id=ann) == {a.id}
        assert await ids(action=AuditAction.USER_DELETED) == {b.id}
        assert await ids(target_id=bob) == {c.id}
        assert await ids(involving=ann) == {a.id, b.id}
        assert await ids(involving=bob) == {b.id, c.id}
        assert await ids(starts_from=T0 + timedelta(hours=1)) == {b.id, c.id}
        assert await ids(starts_before=T0 + timedelta(hours=1)) == {a.id}
        assert await ids(actor_id=bob, action=AuditAction.LOGIN_FAILED) == set()

    async def test_the_audit_log_can_only_be_added_to_and_read(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Append-only: the repository offers no way to change or remove an entry."""
        async with uow_factory() as uow:
            methods = {
                name
                for name, _ in inspect.getmembers(uow.audit, callable)
                if not name.startswith("_")
            }
        assert methods == {"add", "list"}


class PersonalDataContract:
    """One person's rows across the tables: listed for the export, deleted for erasure."""

    pytestmark = pytest.mark.asyncio

    async def _two_people(self, uow_factory: UnitOfWorkFactory) -> dict[str, Any]:
        """Ann and Bob, each with a row in every table that can be about them."""
        rows: dict[str, Any] = {}
        async with uow_factory() as uow:
            for name in ("ann", "bob"):
                user = make_user()
                await uow.users.add(user)
                sessions = [
                    make_session(user.id, created_at=T0 + timedelta(minutes=m),
                                 last_seen_at=T0 + timedelta(minutes=m),
                                 revoked_at=T0 + timedelta(hours=1) if m == 0 else None)
                    for m in range(2)
                ]  # fmt: skip
                for session in sessions:
                    await uow.sessions.add(session)
                recovery = make_recovery(user.id)
                await uow.recoveries.add(recovery)
                registration = make_registration(email=user.email, username=user.username)
                await uow.registrations.add(registration)
                notification = make_notification(user.id)
                await uow.notifications.add(notification)
                mail = make_outbox_message(email=make_email(to=user.email))
                await uow.outbox.add(mail)
                await uow.totp.put(TotpCredential(user_id=user.id, secret=SECRET, created_at=T0))
                await uow.totp.add_recovery_codes([_code(user.id, 0)])
                rows[name] = {
                    "user": user,
                    "sessions": sessions,
                    "recovery": recovery,
                    "registration": registration,
                    "notification": notification,
                    "mail": mail,
                }
            await uow.commit()
        return rows

    async def test_a_persons_rows_are_listed_and_nobody_elses(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Each list has the person's rows, in any state, newest first."""
        rows = await self._two_people(uow_factory)
        ann = rows["ann"]
        user = ann["user"]
        async with uow_factory() as uow:
            data = uow.personal_data
            sessions = list(await data.list_sessions(user.id))
            assert sessions == sorted(ann["sessions"], key=lambda s: s.created_at, reverse=True)
            assert list(await data.list_recoveries(user.id)) == [ann["recovery"]]
            assert list(await data.list_registrations(user.email)) == [ann["registration"]]
            assert list(await data.list_notifications(user.id)) == [ann["notification"]]
            assert list(await data.list_mail(user.email)) == [ann["mail"]]
            assert list(await data.list_sessions(uuid4())) == []

    async def test_deleting_a_persons_rows_leaves_everyone_elses(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Every row of the person goes, the user row stays, and Bob keeps everything."""
        rows = await self._two_people(uow_factory)
        ann, bob = rows["ann"]["user"], rows["bob"]["user"]
        async with uow_factory() as uow:
            removed = await uow.personal_data.delete_rows(ann.id, ann.email)
            await uow.commit()
        assert removed == 8  # 2 sessions, recovery, registration, notification, mail, totp, code
        async with uow_factory() as uow:
            data = uow.personal_data
            assert list(await data.list_sessions(ann.id)) == []
            assert list(await data.list_recoveries(ann.id)) == []
            assert list(await data.list_registrations(ann.email)) == []
            assert list(await data.list_notifications(ann.id)) == []
            assert list(await data.list_mail(ann.email)) == []
            assert await uow.totp.get(ann.id) is None
            assert list(await uow.totp.list_recovery_codes(ann.id)) == []
            assert await uow.users.get(ann.id) == ann
            assert len(await data.list_sessions(bob.id)) == 2
            assert len(await data.list_mail(bob.email)) == 1
            assert len(await data.list_registrations(bob.email)) == 1
            assert await uow.totp.get(bob.id) is not None

    async def test_erasable_users_are_deleted_long_enough_ago_and_not_erased(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Oldest deletion first, up to the limit; live and erased users never."""
        live = make_user()
        old = make_user(deleted_at=T0 - timedelta(days=40))
        older = make_user(deleted_at=T0 - timedelta(days=50))
        recent = make_user(deleted_at=T0 - timedelta(days=3))
        erased = make_user(deleted_at=T0 - timedelta(days=60), erased_at=T0)
        async with uow_factory() as uow:
            for user in (live, old, older, recent, erased):
                await uow.users.add(user)
            await uow.commit()
        cutoff = T0 - timedelta(days=30)
        async with uow_factory() as uow:
            assert list(await uow.personal_data.list_erasable(cutoff, 10)) == [older.id, old.id]
            assert list(await uow.personal_data.list_erasable(cutoff, 1)) == [older.id]
            assert list(await uow.personal_data.list_erasable(T0 - timedelta(days=51), 10)) == []
