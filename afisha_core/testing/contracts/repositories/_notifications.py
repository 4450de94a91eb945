"""The notifications repository: lookups, acks and pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import attrs

from afisha_core.domain import (
    Email,
    InstantNotification,
    OutboxStatus,
)
from afisha_core.ports import Broadcast, UnitOfWorkFactory
from afisha_core.testing.builders import (
    T0,
    make_notification,
    make_user,
)
from afisha_core.testing.contracts.repositories._support import (
    MAX_PAGES,
    MICRO_1,
    MICRO_2,
    seed,
)


class NotificationRepositoryContract:
    """The notifications repository: lookups, acks and pages.

    Part of :class:`~afisha_core.testing.contracts.repositories.UnitOfWorkContract`.
    """

    async def test_add_broadcasts_writes_a_notification_and_an_email_per_recipient(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """Each recipient of each broadcast gets its notification and a PENDING email."""
        a, b, c = make_user(), make_user(), make_user()
        await seed(uow_factory, users=[a, b, c])
        first = Broadcast(
            title="Reminder: Jazz",
            content="Jazz starts soon.",
            cta_url="https://example.org/events/1/calendar.ics",
            cta_label="Add to calendar",
            email_subject="Reminder: Jazz",
            email_text="Jazz starts soon.\n\nAdd to calendar:\nhttps://example.org/",
            email_html="<p>Jazz starts soon.</p>",
            recipients=[(a.id, a.email), (b.id, b.email)],
        )
        second = Broadcast(
            title="Напоминание",
            content="",
            cta_url=None,
            cta_label=None,
            email_subject="Напоминание",
            email_text="Скоро.",
            email_html=None,
            recipients=[(c.id, c.email)],
        )
        async with uow_factory() as uow:
            assert await uow.notifications.add_broadcasts([first, second], MICRO_1) == 3
            assert await uow.notifications.add_broadcasts([], MICRO_1) == 0
            await uow.commit()
        async with uow_factory() as uow:
            emails = await uow.outbox.claim_due(MICRO_1, MICRO_2, 10)
            shown = {
                user.id: await uow.notifications.list(
                    user.id, unacked_only=False, before=None, limit=10
                )
                for user in (a, b, c)
            }
        for broadcast, user in ((first, a), (first, b), (second, c)):
            (notification,) = shown[user.id]
            assert attrs.evolve(notification, id=UUID(int=0)) == InstantNotification(
                id=UUID(int=0),
                user_id=user.id,
                title=broadcast.title,
                content=broadcast.content,
                cta_url=broadcast.cta_url,
                cta_label=broadcast.cta_label,
                created_at=MICRO_1,
            )
            (email,) = [m for m in emails if m.email.to == user.email]
            assert email.email == Email(
                to=user.email,
                subject=broadcast.email_subject,
                text=broadcast.email_text,
                html=broadcast.email_html,
            )
            assert (email.status, email.attempts, email.created_at) == (
                OutboxStatus.PENDING,
                0,
                MICRO_1,
            )
        ids = [m.id for m in emails] + [n.id for found in shown.values() for n in found]
        assert len(emails) == 3
        assert len(set(ids)) == 6

    async def test_ack_keeps_the_first_ack_and_only_the_owners(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """An ack sets acked_at once, returns the stored row, and ignores other users."""
        user, stranger = make_user(), make_user()
        notification = make_notification(user.id)
        await seed(uow_factory, users=[user, stranger], notifications=[notification])
        acked = attrs.evolve(notification, acked_at=MICRO_1)
        async with uow_factory() as uow:
            assert await uow.notifications.ack(notification.id, stranger.id, MICRO_1) is None
            assert await uow.notifications.ack(notification.id, user.id, MICRO_1) == acked
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.ack(notification.id, user.id, MICRO_2) == acked
            missing = make_notification(user.id).id
            assert await uow.notifications.ack(missing, user.id, MICRO_2) is None
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.notifications.get(notification.id) == acked

    async def test_list_notifications_newest_first_in_pages(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """A user's notifications newest first, in keyset pages, optionally unacked only."""
        me, them = make_user(), make_user()
        minute = timedelta(minutes=1)
        offsets_and_acks = [
            (1, None),
            (3, T0 + 9 * minute),
            (2, None),
            (2, None),
            (2, None),
            (0, None),
        ]
        mine = [
            make_notification(me.id, created_at=T0 + o * minute, acked_at=acked)
            for o, acked in offsets_and_acks
        ]
        theirs = make_notification(them.id, created_at=T0 + 2 * minute)
        await seed(uow_factory, users=[me, them], notifications=[*mine, theirs])
        expected = sorted(mine, key=lambda n: (n.created_at, n.id), reverse=True)
        pages: list[list[InstantNotification]] = []
        before: tuple[datetime, UUID] | None = None
        async with uow_factory() as uow:
            for _ in range(MAX_PAGES):
                page = list(
                    await uow.notifications.list(me.id, unacked_only=False, before=before, limit=4)
                )
                if not page:
                    break
                pages.append(page)
                before = (page[-1].created_at, page[-1].id)
            unacked = await uow.notifications.list(me.id, unacked_only=True, before=None, limit=10)
            short = await uow.notifications.list(me.id, unacked_only=False, before=None, limit=2)
            others = await uow.notifications.list(
                them.id, unacked_only=False, before=None, limit=10
            )
        assert [len(p) for p in pages] == [4, 2]
        assert [n for p in pages for n in p] == expected
        assert list(unacked) == [n for n in expected if n.acked_at is None]
        assert list(short) == expected[:2]
        assert list(others) == [theirs]

    async def test_ack_all_acks_the_users_unacked_notifications(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        """ack_all acks the user's unacked notifications only, and counts them."""
        me, them = make_user(), make_user()
        now = T0 + timedelta(days=1)
        unacked = [make_notification(me.id) for _ in range(3)]
        already = make_notification(me.id, acked_at=MICRO_1)
        theirs = make_notification(them.id)
        await seed(uow_factory, users=[me, them], notifications=[*unacked, already, theirs])
        async with uow_factory() as uow:
            assert await uow.notifications.ack_all(me.id, now) == 3
            await uow.commit()
        async with uow_factory() as uow:
            for n in unacked:
                assert await uow.notifications.get(n.id) == attrs.evolve(n, acked_at=now)
            assert await uow.notifications.get(already.id) == already
            assert await uow.notifications.get(theirs.id) == theirs
            assert await uow.notifications.ack_all(me.id, now) == 0
            listed = await uow.notifications.list(me.id, unacked_only=True, before=None, limit=10)
            assert list(listed) == []
