"""Login sessions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


@attrs.frozen(kw_only=True)
class LoginSession:
    """A logged-in device. Only the SHA-256 of its bearer token is kept."""

    uid: UUID
    user_id: UUID
    token_hash: str = attrs.field(repr=False, validator=v.not_blank)
    user_agent: str = attrs.field(default="", validator=v.max_length(512))
    client_address: str | None = attrs.field(default=None, validator=v.max_length(64))
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    last_seen_at: datetime = attrs.field(validator=v.utc_datetime)
    expires_at: datetime = attrs.field(validator=v.utc_datetime)
    revoked_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    credential_version: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """The user's ``credential_version`` when the session was opened."""

    @expires_at.validator
    def _after_creation(self, _attribute: object, value: datetime) -> None:
        if value <= self.created_at:
            raise ValueError("expires_at must be after created_at")

    def is_active(self, now: datetime) -> bool:
        """Not revoked and not expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at
