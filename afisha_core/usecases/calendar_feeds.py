"""The personal calendar feed: a secret URL following what one person signed up for.

The feed's token is the secret part of its URL; only its SHA-256 is stored. Issuing a
feed again rotates it (the old URL stops working) and revoking removes it; both hold
the owner's lock (:meth:`~afisha_core.ports.UserRepository.get_for_update`), so two
rotations at once take turns and exactly one token survives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from afisha_core.domain import CalendarFeed, Event, ParticipationStatus, User
from afisha_core.errors import NotAuthenticated, NotFound
from afisha_core.ports import Clock, EventQuery, TokenGenerator, UnitOfWorkFactory
from afisha_core.settings import Settings
from afisha_core.tokens import hash_token
from afisha_core.usecases.sessions import Principal

__all__ = ["FEED_LOOKBACK", "CalendarFeedService", "FeedContents"]

FEED_LOOKBACK = timedelta(days=30)
"""How far back a feed reaches: events that ended longer ago than this are left out."""

_PAGE = 100
_FOLLOWED = frozenset({ParticipationStatus.PARTICIPATING, ParticipationStatus.WAITLISTED})


@attrs.frozen(kw_only=True)
class FeedContents:
    """What a feed shows: its owner's events, and when anything in it last changed.

    ``events`` are every event the owner is PARTICIPATING or WAITLISTED in that ended
    at most :data:`FEED_LOOKBACK` ago, cancelled ones included, in ``(starts_at, id)``
    order. ``last_modified`` is the latest of the feed's issue time, the events'
    ``updated_at`` and the owner's participation changes (joins and leaves alike).
    """

    owner: User
    events: Sequence[Event]
    last_modified: datetime


@attrs.frozen
class CalendarFeedService:
    """Issuing, revoking and reading personal calendar feeds."""

    uow: UnitOfWorkFactory
    clock: Clock
    tokens: TokenGenerator
    settings: Settings = attrs.field(factory=Settings)

    async def issue(self, principal: Principal) -> str:
        """A new feed token for the caller, replacing (and so revoking) any earlier one.

        Returns the token, the secret part of the feed URL: it is shown this once and
        only its SHA-256 is stored. Raises :class:`NotAuthenticated` when the caller's
        account was deleted meanwhile.
        """
        token = self.tokens.token()
        async with self.uow() as uow:
            user = await uow.users.get_for_update(principal.user.id)
            if user is None or user.deleted_at is not None:
                raise NotAuthenticated
            feed = CalendarFeed(
                user_id=user.id, token_hash=hash_token(token), created_at=self.clock.now()
            )
            await uow.calendar_feeds.put(feed)
            await uow.commit()
        return token

    async def revoke(self, principal: Principal) -> bool:
        """Remove the caller's feed (its URL stops working); whether there was one."""
        async with self.uow() as uow:
            user = await uow.users.get_for_update(principal.user.id)
            if user is None:
                raise NotAuthenticated
            removed = await uow.calendar_feeds.delete(user.id)
            await uow.commit()
        return removed

    async def read(self, token: str) -> FeedContents:
        """The contents of the feed with this token.

        Raises :class:`NotFound` for a token that is unknown, rotated, revoked, or whose
        owner deleted their account.
        """
        now = self.clock.now()
        async with self.uow() as uow:
            feed = await uow.calendar_feeds.get_by_token_hash(hash_token(token))
            if feed is None:
                raise NotFound
            owner = await uow.users.get(feed.user_id)
            if owner is None or owner.deleted_at is not None:
                raise NotFound
            events: list[Event] = []
            after: tuple[datetime, UUID] | None = None
            while True:
                query = EventQuery(
                    starts_from=now - FEED_LOOKBACK,
                    include_rejected=True,
                    include_finished=True,
                    participant_id=owner.id,
                    participant_statuses=_FOLLOWED,
                    after=after,
                    limit=_PAGE,
                )
                page = await uow.events.list_views(query, now, owner.id)
                events.extend(view.event for view in page)
                if len(page) < _PAGE:
                    break
                after = (page[-1].event.starts_at, page[-1].event.id)
            participations = await uow.participations.list_for_user(
                owner.id, frozenset(ParticipationStatus)
            )
        last_modified = max(
            [feed.created_at]
            + [e.updated_at for e in events]
            + [p.status_changed_at for p in participations]
        )
        return FeedContents(owner=owner, events=events, last_modified=last_modified)
