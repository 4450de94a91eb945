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
    ``credential_version`` counts password changes (see below).
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
    credential_version: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """Grows by one whenever the password changes (a change or a reset).

    Sessions and recovery tokens record the version they were issued under; one from
    an older version is refused, so nothing started under an old password survives it.
    """
    totp_enabled: bool = False
    """Whether a confirmed TOTP credential guards the login (see ``domain.totp``)."""
    erased_at: datetime | None = attrs.field(default=None, validator=v.optional_utc_datetime)
    """When the personal data of this deleted account was erased (placeholders since)."""
    locale: str = attrs.field(default="en", validator=v.locale)
    """The language everything sent to the user is written in (``en``, ``ru``, ...)."""

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role is Role.ADMINISTRATOR

    @property
    def is_deleted(self) -> bool:
        """Whether the account was deleted."""
        return self.deleted_at is not None
