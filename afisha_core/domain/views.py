"""Read models that combine entities for listings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import attrs

from afisha_core.domain.participation import Participation
from afisha_core.domain.users import User

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Participant:
    """A participation together with its user (the administrators' view)."""

    user: User
    participation: Participation


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a keyset-paginated listing; ``next_cursor`` is opaque."""

    items: Sequence[T]
    next_cursor: str | None = None
