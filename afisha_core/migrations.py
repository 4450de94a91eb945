"""Numbered SQL migrations: finding them and deciding what to apply.

Adapters run the SQL; this module only reads the files (``NNNN_name.sql``) and
decides, from what a database has already applied, what is left to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import attrs

__all__ = ["DatabaseNewerThanCode", "Migration", "load_migrations", "pending_migrations"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class DatabaseNewerThanCode(RuntimeError):
    """The database has migrations this code does not know: refuse to run against it."""


@attrs.frozen(kw_only=True)
class Migration:
    """One migration file: its version number, name and SQL."""

    version: int
    name: str
    sql: str = attrs.field(repr=False)


def load_migrations(directory: Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` in ``directory``, in version order.

    Raises ``ValueError`` for a misnamed ``.sql`` file, a duplicate version or a gap
    in the numbering (versions must be 1, 2, 3, ...).
    """
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_name.sql")
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                sql=path.read_text(encoding="utf-8"),
            )
        )
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migrations must be numbered 1, 2, 3, ... without gaps: expected "
                f"{expected:04d}, found {migration.version:04d}_{migration.name}.sql"
            )
    return found


def pending_migrations(available: list[Migration], applied: Iterable[int]) -> list[Migration]:
    """The migrations of ``available`` that are not in ``applied``, in order.

    Raises :class:`DatabaseNewerThanCode` when the database applied a version this
    code does not have.
    """
    applied_set = set(applied)
    known = {m.version for m in available}
    unknown = sorted(applied_set - known)
    if unknown:
        raise DatabaseNewerThanCode(
            f"the database has migration(s) {unknown} that this version of Afisha does not "
            f"know (it knows up to {max(known, default=0)}); upgrade Afisha first"
        )
    return [m for m in available if m.version not in applied_set]
