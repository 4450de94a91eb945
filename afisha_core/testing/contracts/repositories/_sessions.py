"""The sessions repository: lookups, column-wise writes, revocation."""

from __future__ import annotations

from datetime import timedelta

import attrs

from afisha_core.domain import LoginSession
from afisha_core.ports import UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_session,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    MAX_PAGES,
    MICRO_1,
    MICRO_2,
    US,
    seed,
)


class SessionRepositoryContract:
    """The sessions repository: lookups, column-wise writes, revocation.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    async def test_get_with_user_reads_the_session_and_its_user_in_any_state(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """get_with_user finds a session by token hash with its user, whatever their state."""
        user = make_user()
        gone = make_user(deleted_at=T0 + US)
        live = make_session(user.id, credential_version=2)
        revoked = make_session(user.id, revoked_at=T0 + US)
        orphaned = make_session(gone.id)
        await seed(uow_factory, users=[user, gone], sessions=[live, revoked, orphaned])
        async with uow_factory(read_only=True) as uow:
            assert await uow.sessions.get_with_user(live.token_hash) == (live, user)
            assert await uow.sessions.get_with_user(revoked.token_hash) == (revoked, user)
            assert await uow.sessions.get_with_user(orphaned.token_hash) == (orphaned, gone)
            assert await uow.sessions.get_with_user(make_session(user.id).token_hash) is None

    async def test_touch_sets_last_seen_only_on_a_live_session(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A touch writes last_seen_at of a live session seen earlier, and nothing else."""
        user = make_user()
        live = make_session(user.id, last_seen_at=T0, credential_version=3)
        revoked = make_session(user.id, last_seen_at=T0, revoked_at=T0 + US)
        await seed(uow_factory, users=[user], sessions=[live, revoked])
        async with uow_factory() as uow:
            assert await uow.sessions.touch(live.uid, MICRO_1) is True
            assert await uow.sessions.touch(revoked.uid, MICRO_1) is False
            assert await uow.sessions.touch(make_session(user.id).uid, MICRO_1) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.touch(live.uid, MICRO_1) is False  # not later
            assert await uow.sessions.get(live.uid) == attrs.evolve(live, last_seen_at=MICRO_1)
            assert await uow.sessions.get(revoked.uid) == revoked

    async def test_revoke_keeps_the_first_revocation(self, uow_factory: UnitOfWorkFactory) -> None:
        """A revocation sets revoked_at once; a second revoke changes nothing and says so."""
        user = make_user()
        session = make_session(user.id)
        await seed(uow_factory, users=[user], sessions=[session])
        async with uow_factory() as uow:
            assert await uow.sessions.revoke(session.uid, MICRO_1) is True
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.revoke(session.uid, MICRO_2) is False
            assert await uow.sessions.revoke(make_session(user.id).uid, MICRO_2) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.get(session.uid) == attrs.evolve(session, revoked_at=MICRO_1)

    async def test_carry_over_moves_only_a_live_session(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Carrying over sets the credential version of a live session, never of a revoked one."""
        user = make_user()
        live = make_session(user.id)
        revoked = make_session(user.id, revoked_at=MICRO_1)
        await seed(uow_factory, users=[user], sessions=[live, revoked])
        async with uow_factory() as uow:
            assert await uow.sessions.carry_over(live.uid, 2) is True
            assert await uow.sessions.carry_over(revoked.uid, 2) is False
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.get(live.uid) == attrs.evolve(live, credential_version=2)
            assert await uow.sessions.get(revoked.uid) == revoked

    async def test_missing_sessions_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        """Lookups of unknown sessions give ``None``."""
        user = make_user()
        await seed(uow_factory, users=[user], sessions=[make_session(user.id)])
        absent = make_session(user.id)
        async with uow_factory() as uow:
            assert await uow.sessions.get(absent.uid) is None
            assert await uow.sessions.get_by_token_hash(absent.token_hash) is None

    async def test_list_active_sessions_newest_first(self, uow_factory: UnitOfWorkFactory) -> None:
        """Active sessions of one user, newest first; revoked and expired ones left out."""
        user, stranger = make_user(), make_user()
        now = T0 + timedelta(days=1)
        older = make_session(user.id, created_at=T0 + timedelta(hours=1))
        newer = make_session(user.id, created_at=T0 + timedelta(hours=2))
        oldest = make_session(user.id, created_at=T0)
        revoked = make_session(user.id, revoked_at=T0 + timedelta(hours=3))
        expired = make_session(user.id, expires_at=now)
        theirs = make_session(stranger.id)
        await seed(
            uow_factory,
            users=[user, stranger],
            sessions=[older, newer, oldest, revoked, expired, theirs],
        )
        async with uow_factory() as uow:
            assert list(await uow.sessions.list_active(user.id, now)) == [newer, older, oldest]
            assert list(await uow.sessions.list_active(stranger.id, now)) == [theirs]

    async def test_list_active_sessions_in_keyset_pages(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Active sessions page by (created_at, uid) descending with before and limit."""
        user = make_user()
        now = T0 + timedelta(days=1)
        sessions = [
            make_session(user.id, created_at=T0 + timedelta(minutes=m)) for m in (1, 2, 2, 3)
        ]
        await seed(uow_factory, users=[user], sessions=sessions)
        expected = sorted(sessions, key=lambda s: (s.created_at, s.uid), reverse=True)
        pages: list[list[LoginSession]] = []
        before = None
        async with uow_factory() as uow:
            for _ in range(MAX_PAGES):
                page = list(await uow.sessions.list_active(user.id, now, before=before, limit=3))
                if not page:
                    break
                pages.append(page)
                before = (page[-1].created_at, page[-1].uid)
        assert [len(p) for p in pages] == [3, 1]
        assert [s for p in pages for s in p] == expected

    async def test_revoke_all_revokes_active_sessions_but_the_exception(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """revoke_all revokes the user's active sessions but one, and counts them."""
        user, stranger = make_user(), make_user()
        now = T0 + timedelta(days=1)
        current = make_session(user.id, created_at=T0 + timedelta(hours=2))
        other_a = make_session(user.id, created_at=T0 + timedelta(hours=1))
        other_b = make_session(user.id, created_at=T0)
        revoked = make_session(user.id, revoked_at=T0 + timedelta(hours=3))
        expired = make_session(user.id, expires_at=now)
        theirs = make_session(stranger.id)
        await seed(
            uow_factory,
            users=[user, stranger],
            sessions=[current, other_a, other_b, revoked, expired, theirs],
        )
        async with uow_factory() as uow:
            assert await uow.sessions.revoke_all(user.id, now, except_uid=current.uid) == 2
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.sessions.list_active(user.id, now)) == [current]
            assert await uow.sessions.get(other_a.uid) == attrs.evolve(other_a, revoked_at=now)
            assert await uow.sessions.get(other_b.uid) == attrs.evolve(other_b, revoked_at=now)
            assert await uow.sessions.get(revoked.uid) == revoked
            assert await uow.sessions.get(expired.uid) == expired
            assert await uow.sessions.get(theirs.uid) == theirs
        later = now + timedelta(minutes=1)
        async with uow_factory() as uow:
            assert await uow.sessions.revoke_all(user.id, later) == 1
            await uow.commit()
        async with uow_factory() as uow:
            assert list(await uow.sessions.list_active(user.id, later)) == []
            assert await uow.sessions.get(current.uid) == attrs.evolve(current, revoked_at=later)
            assert await uow.sessions.revoke_all(user.id, later) == 0
            assert list(await uow.sessions.list_active(stranger.id, later)) == [theirs]
