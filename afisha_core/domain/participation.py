"""A user's place at an event."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


class ParticipationStatus(enum.Enum):
    """PARTICIPATING holds a spot, WAITLISTED waits for one, REJECTED has left."""

    PARTICIPATING = "PARTICIPATING"
    WAITLISTED = "WAITLISTED"
    REJECTED = "REJECTED"


@attrs.frozen(kw_only=True)
class Participation:
    """One row per (event, user).

    ``status_changed_at`` orders the waitlist (longest-waiting first);
    ``reminder_queued_at`` is set once the reminder was claimed and cleared when the
    event moves.
    """

    event_id: UUID
    user_id: UUID
    status: ParticipationStatus
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    status_changed_at: datetime = attrs.field(validator=v.utc_datetime)
    reminder_queued_at: datetime | None = attrs.field(
        default=None, validator=v.optional_utc_datetime
    )

    @property
    def is_active(self) -> bool:
        """PARTICIPATING or WAITLISTED."""
        return self.status is not ParticipationStatus.REJECTED
