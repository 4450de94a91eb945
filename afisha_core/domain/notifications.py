"""In-app notifications."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


@attrs.frozen(kw_only=True)
class InstantNotification:
    """A message shown in the app to one user until acknowledged."""

    id: UUID
    user_id: UUID
    title: str = attrs.field(validator=[v.not_blank, v.single_line, v.max_length(300)])
    content: str = attrs.field(default="", validator=v.max_length(5_000))
    cta_url: str | None = None
    cta_label: str | None = None
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    acked_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
