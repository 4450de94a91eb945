"""Password-recovery tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


@attrs.frozen(kw_only=True)
class IssuedLoginRecovery:
    """A single-use password-recovery token (only its SHA-256 is kept)."""

    id: UUID
    user_id: UUID
    token_hash: str = attrs.field(repr=False, validator=v.not_blank)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    expires_at: datetime = attrs.field(validator=v.utc_datetime)
    used_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    credential_version: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """The user's ``credential_version`` when the token was issued."""

    @expires_at.validator
    def _after_creation(self, _attribute: object, value: datetime) -> None:
        if value <= self.created_at:
            raise ValueError("expires_at must be after created_at")

    def is_usable(self, now: datetime) -> bool:
        """Not used and not expired at ``now``."""
        return self.used_at is None and now < self.expires_at
