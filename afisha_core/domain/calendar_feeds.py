"""A user's personal calendar feed: the secret URL that follows their sign-ups."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


@attrs.frozen(kw_only=True)
class CalendarFeed:
    """The one live calendar feed of a user.

    Only the SHA-256 of the feed's token is stored (``token_hash``); the token itself is
    the secret part of the feed URL, handed out once. Issuing a new feed replaces this
    row, so the old URL stops working; removing it revokes the feed.
    """

    user_id: UUID
    token_hash: str = attrs.field(repr=False, validator=v.not_blank)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
