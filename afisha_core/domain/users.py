"""Users and their roles."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs

from afisha_core.domain import _validators as v


class Role(enum.Enum):
    """What a user may do: USER browses and joins, ADMINISTRATOR manages."""

    USER = "USER"
    ADMINISTRATOR = "ADMINISTRATOR"


@attrs.frozen(kw_only=True)
class User:
    """A person with an account.

    Deletion is soft: ``deleted_at`` is set and the email and username become free
    for others. A system user (``is_system``) cannot be deleted or demoted.
    """

    id: UUID
    email: str = attrs.field(validator=v.email)
    username: str = attrs.field(validator=v.username)
    full_name: str = attrs.field(validator=[v.not_blank, v.single_line, v.max_length(200)])
    password_hash: str = attrs.field(repr=False, validator=v.not_blank)
    role: Role = Role.USER
    is_system: bool = False
    created_at: datetime = attrs.field(validator=v.utc_datetime)
    deleted_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role is Role.ADMINISTRATOR

    @property
    def is_deleted(self) -> bool:
        """Whether the account was deleted."""
        return self.deleted_at is not None
