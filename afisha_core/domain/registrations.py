"""Pending registrations awaiting their emailed code."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v

MAX_CODE_ATTEMPTS = 5
"""Wrong codes a registration survives; one more and it is dead."""


@attrs.frozen(kw_only=True)
class IssuedRegistration:
    """A registration that waits for its 6-digit code.

    ``token_hash`` is the SHA-256 of the registration token the client holds;
    ``code_hash`` is the SHA-256 of the token and the code together, so a leaked
    database alone cannot be used to confirm. ``attempts`` counts wrong codes; at
    :data:`MAX_CODE_ATTEMPTS` the registration is dead. ``code_hash`` is ``None`` when
    the email already belonged to a live user: such a registration can never be
    confirmed (the owner was told by email instead, so the answer stays uniform).
    """

    id: UUID
    token_hash: str = attrs.field(repr=False, validator=v.not_blank)
    code_hash: str | None = attrs.field(repr=False)
    email: str = attrs.field(validator=v.email)
    username: str = attrs.field(validator=v.username)
    full_name: str = attrs.field(validator=[v.not_blank, v.single_line, v.max_length(200)])
    password_hash: str = attrs.field(repr=False, validator=v.not_blank)
    attempts: int = attrs.field(default=0)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    expires_at: datetime = attrs.field(validator=v.utc_datetime)
    confirmed_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    locale: str = attrs.field(default="en", validator=v.locale)
    """The language chosen at registration; the confirmed user keeps it."""

    @attempts.validator
    def _attempts_in_range(self, _attribute: object, value: int) -> None:
        if not 0 <= value <= MAX_CODE_ATTEMPTS:
            raise ValueError(f"attempts must be between 0 and {MAX_CODE_ATTEMPTS}")

    @expires_at.validator
    def _after_creation(self, _attribute: object, value: datetime) -> None:
        if value <= self.created_at:
            raise ValueError("expires_at must be after created_at")

    def is_usable(self, now: datetime) -> bool:
        """Not confirmed, not expired and not dead from wrong codes."""
        return (
            self.confirmed_at is None
            and now < self.expires_at
            and self.attempts < MAX_CODE_ATTEMPTS
        )
