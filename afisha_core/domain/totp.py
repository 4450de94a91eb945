"""Two-factor login: a user's TOTP credential and their single-use recovery codes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v

RECOVERY_CODE_COUNT = 10
"""How many recovery codes a confirmed enrolment hands out."""


@attrs.frozen(kw_only=True)
class TotpCredential:
    """A user's TOTP secret, pending until confirmed with a first code.

    ``secret`` is shown once, at enrolment, and never returned again by any use case.
    ``last_step`` is the RFC 6238 time step of the last code accepted: a code of that
    step or an earlier one is refused, so no code works twice.
    """

    user_id: UUID
    secret: str = attrs.field(repr=False, validator=v.not_blank)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    confirmed_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    last_step: int | None = None

    @property
    def is_confirmed(self) -> bool:
        """Whether the enrolment was confirmed (TOTP is then required at login)."""
        return self.confirmed_at is not None


@attrs.frozen(kw_only=True)
class TotpRecoveryCode:
    """One single-use recovery code (only its SHA-256 is kept)."""

    id: UUID
    user_id: UUID
    code_hash: str = attrs.field(repr=False, validator=v.not_blank)
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    used_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
