"""Events and what a viewer sees of them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v
from afisha_core.domain.participation import ParticipationStatus

MAX_CAPACITY = 1_000_000


def _capacity(_inst: object, _attribute: object, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("max_participants_count must be an integer")
    if not 1 <= value <= MAX_CAPACITY:
        raise v.InvalidValue(
            f"max_participants_count must be from 1 to {MAX_CAPACITY} (or unset for unlimited)",
            "out_of_range",
        )


@attrs.frozen(kw_only=True)
class Event:
    """An event people can sign up for.

    ``max_participants_count`` of ``None`` means unlimited. ``rejected_at`` is set
    when an administrator cancels the event. ``timezone`` is the IANA zone in which
    emails and calendar files show its times; stored times are always UTC.
    ``image_key`` is the ObjectStorage key of its picture.
    """

    id: UUID
    name: str = attrs.field(validator=[v.not_blank, v.single_line, v.max_length(200)])
    short_description: str = attrs.field(default="", validator=v.max_length(500))
    description: str = attrs.field(default="", validator=v.max_length(20_000))
    starts_at: datetime = attrs.field(validator=v.utc_datetime)
    ends_at: datetime = attrs.field(validator=v.utc_datetime)
    timezone: str = attrs.field(default="UTC", validator=v.timezone_name)
    location: str = attrs.field(default="", validator=v.max_length(500))
    payment_info: str = attrs.field(default="", validator=v.max_length(2_000))
    max_participants_count: int | None = attrs.field(default=None, validator=_capacity)
    image_key: str | None = None
    created_by: UUID | None = None
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    updated_at: datetime = attrs.field(validator=v.utc_datetime)
    rejected_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    rejection_reason: str | None = attrs.field(default=None, validator=v.max_length(2_000))

    @ends_at.validator
    def _ends_after_start(self, _attribute: object, value: datetime) -> None:
        if value <= self.starts_at:
            raise v.InvalidValue("ends_at must be after starts_at", "before_start")

    @property
    def is_rejected(self) -> bool:
        """Whether the event was cancelled."""
        return self.rejected_at is not None

    def is_finished(self, now: datetime) -> bool:
        """Whether the event has ended at ``now``."""
        return now >= self.ends_at

    def has_room(self, participants: int) -> bool:
        """Whether one more person fits next to ``participants``."""
        return self.max_participants_count is None or participants < self.max_participants_count


@attrs.frozen(kw_only=True)
class EventView:
    """An event with live counts and the viewer's own status, as listings show it."""

    event: Event
    participants_count: int = 0
    waitlist_count: int = 0
    my_status: ParticipationStatus | None = None

    @property
    def spots_left(self) -> int | None:
        """Free spots, or ``None`` when the event is unlimited."""
        cap = self.event.max_participants_count
        return None if cap is None else max(cap - self.participants_count, 0)
