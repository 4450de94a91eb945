"""Fill a fresh PostgreSQL database fast and deterministically: ``COPY``, not row by row.

Every run with the same :class:`SeedSpec` (seed included) and the same anchor time
writes the same rows: identifiers, names, times, capacities and who participates
where all come from one :class:`random.Random`. Only the anchor (by default the
current hour, so that "upcoming" means something) moves the times.

What gets written:

- ``users``: ``user000000`` ... with email ``user000000@bench.example`` and the
  password :data:`PASSWORD` (one argon2id hash with the production parameters and a
  salt derived from the seed, shared by every user); user 0 is the system administrator.
  Every third user reads Russian (``locale`` ``ru``, :func:`locale_for`), the others
  English, so reminders are written in both languages.
- ``login_sessions``: one live session per user whose bearer token is
  :func:`token_for` ``(seed, i)``, so the load driver can authenticate without logging in.
- ``events``: spread uniformly over ``[anchor - past, anchor + future]`` (by default one
  year back and two ahead, so a third have already ended, as on a site with history),
  starting on 5-minute marks (many ties in ``starts_at``), 1 to 4 hours long, 30 %
  unlimited, 2 % cancelled.
- ``participations``: a tenth of the events get 1 to 20 participants (capped by the
  capacity; one in ten of them has left, REJECTED).
- optionally ``due_events`` events starting within the next 23 hours with
  ``due_per_event`` PARTICIPATING, not yet reminded participants each: the backlog of
  the reminder scenario.

Usage: ``python -m benchmarks.seed --events 100000 --users 10000 [--keep]`` creates
``afisha_bench_<pid>``, migrates it with :meth:`afisha_postgres.PostgresDatabase.migrate`,
fills it, prints the timings and drops it again unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import argon2.low_level
import attrs
import psycopg
from psycopg import sql

from afisha_argon2 import Argon2PasswordHasher
from afisha_core.tokens import hash_token
from afisha_postgres import PostgresDatabase

__all__ = [
    "ADMIN_URL",
    "PASSWORD",
    "SeedReport",
    "SeedSpec",
    "create_database",
    "database_url",
    "drop_database",
    "email_for",
    "fill",
    "locale_for",
    "password_hash",
    "prepare",
    "token_for",
    "user_ids",
    "username_for",
]

#: Where the bench databases are created (any database of the server will do).
ADMIN_URL = os.environ.get(
    "AFISHA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Every seeded user's password.
PASSWORD = "bench-password"  # noqa: S105 - a public benchmark fixture, not a secret

_WORDS = (
    "jazz",
    "night",
    "open",
    "air",
    "lecture",
    "chamber",
    "music",
    "film",
    "club",
    "workshop",
    "poetry",
    "reading",
    "theatre",
    "premiere",
    "quiz",
    "board",
    "games",
    "yoga",
    "run",
    "meetup",
    "exhibition",
    "concert",
    "festival",
    "choir",
    "dance",
    "tango",
    "salsa",
    "photo",
    "walk",
    "science",
    "cafe",
    "book",
    "club",
    "hackathon",
    "market",
    "tasting",
    "piano",
    "recital",
    "organ",
    "trio",
    "quartet",
    "symphony",
    "cinema",
    "talk",
    "panel",
    "guided",
    "tour",
)
_ZONES = ("UTC", "Europe/Moscow", "Europe/Berlin", "Asia/Almaty", "America/New_York")
_PLACES = ("Main hall", "Small hall", "Library", "Park stage", "Rooftop", "Gallery 2")


@attrs.frozen(kw_only=True)
class SeedSpec:
    """How much to write; the same spec and anchor always write the same rows."""

    events: int
    users: int = 10_000
    seed: int = 7
    past: timedelta = timedelta(days=365)
    future: timedelta = timedelta(days=730)
    participated_share: float = 0.1
    max_participants: int = 20
    due_events: int = 0
    due_per_event: int = 100
    anchor: datetime | None = None

    def anchor_time(self) -> datetime:
        """The anchor: the given one, or the start of the current hour (UTC)."""
        if self.anchor is not None:
            return self.anchor
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@attrs.frozen(kw_only=True)
class SeedReport:
    """What :func:`fill` wrote and how long each part took (seconds)."""

    events: int
    users: int
    participations: int
    due_participations: int
    anchor: datetime
    seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        """The whole fill, ``VACUUM ANALYZE`` included."""
        return sum(self.seconds.values())


def token_for(seed: int, index: int) -> str:
    """The bearer token of user ``index``'s seeded session."""
    return f"bench-{seed}-{index:06d}"


def username_for(index: int) -> str:
    """The username of user ``index``."""
    return f"user{index:06d}"


def locale_for(index: int) -> str:
    """The language of user ``index``: ``ru`` for every third user, else ``en``."""
    return "ru" if index % 3 == 2 else "en"


def email_for(index: int) -> str:
    """The email of user ``index``."""
    return f"{username_for(index)}@bench.example"


def password_hash(seed: int) -> str:
    """The argon2id hash of :data:`PASSWORD` with production parameters, salt from ``seed``.

    Raises :class:`RuntimeError` if the server's hasher would want to rehash it (then
    every benchmark login would also write a new hash, which is not what we measure).
    """
    salt = hashlib.sha256(f"afisha-bench-{seed}".encode()).digest()[:16]
    encoded = argon2.low_level.hash_secret(
        PASSWORD.encode(),
        salt,
        time_cost=2,
        memory_cost=19 * 1024,
        parallelism=1,
        hash_len=32,
        type=argon2.low_level.Type.ID,
    ).decode("ascii")
    if Argon2PasswordHasher().needs_rehash(encoded):
        raise RuntimeError("the seeded hash does not match the server's argon2 parameters")
    return encoded


def _rng(seed: int, part: str) -> random.Random:
    """The generator of one part of the data (reproducible data, never secrets)."""
    return random.Random(f"{seed}-{part}")  # noqa: S311 - reproducible on purpose


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def database_url(name: str, admin_url: str = ADMIN_URL) -> str:
    """The ``postgresql://`` URL of database ``name`` on the server of ``admin_url``."""
    parts = urlsplit(admin_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"give the bench PostgreSQL as a postgresql:// URL, not {admin_url!r}")
    return urlunsplit(parts._replace(path="/" + name))


def _check_name(name: str) -> None:
    if not name.startswith("afisha_bench_") or not name.replace("_", "").isalnum():
        raise ValueError(f"bench databases are named afisha_bench_<letters/digits>, not {name!r}")


def create_database(name: str, admin_url: str = ADMIN_URL) -> str:
    """Create the empty database ``name`` (``afisha_bench_*``; dropped first if it exists)."""
    _check_name(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(name, admin_url)


def drop_database(name: str, admin_url: str = ADMIN_URL) -> None:
    """Drop the bench database ``name``, disconnecting whoever is still on it."""
    _check_name(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def prepare(name: str, admin_url: str = ADMIN_URL) -> str:
    """Create ``name`` and apply Afisha's migrations to it; return its URL."""
    url = await asyncio.to_thread(create_database, name, admin_url)
    db = PostgresDatabase(url)
    await db.migrate()
    return url


def _texts(rng: random.Random, count: int, words: int) -> list[str]:
    return [" ".join(rng.choices(_WORDS, k=words)).capitalize() + "." for _ in range(count)]


def _user_rows(spec: SeedSpec, anchor: datetime) -> Iterator[tuple[Any, ...]]:
    rng = _rng(spec.seed, "users")
    hashed = password_hash(spec.seed)
    created = anchor - timedelta(days=500)
    for i in range(spec.users):
        role = "ADMINISTRATOR" if i == 0 else "USER"
        yield (
            _uuid(rng),
            email_for(i),
            username_for(i),
            f"Bench User {i}",
            hashed,
            role,
            i == 0,
            created + timedelta(minutes=i),
            None,
            locale_for(i),
        )


def user_ids(spec: SeedSpec) -> list[uuid.UUID]:
    """The ids of the seeded users, in index order."""
    rng = _rng(spec.seed, "users")
    return [_uuid(rng) for _ in range(spec.users)]


class _EventMaker:
    """Event rows, plus who participates in each."""

    def __init__(self, spec: SeedSpec, anchor: datetime, user_ids: list[uuid.UUID]) -> None:
        self.spec = spec
        self.anchor = anchor
        self.user_ids = user_ids
        self.rng = _rng(spec.seed, "events")
        self.short = _texts(self.rng, 64, 10)
        self.long = _texts(self.rng, 64, 45)
        self.participations: list[tuple[Any, ...]] = []
        self.due = 0

    def rows(self) -> Iterator[tuple[Any, ...]]:
        spec, rng, anchor = self.spec, self.rng, self.anchor
        titles = [" ".join(rng.choices(_WORDS, k=3)).title() for _ in range(512)]
        past_slots = int(spec.past / timedelta(minutes=5))
        future_slots = int(spec.future / timedelta(minutes=5))
        slot = timedelta(minutes=5)
        hours = [timedelta(hours=h) for h in range(1, 5)]
        created = anchor - timedelta(days=400)
        cancelled = created + timedelta(days=1)
        admin = self.user_ids[0] if self.user_ids else None
        short, long, randrange, random_ = self.short, self.long, rng.randrange, rng.random
        for i in range(spec.events + spec.due_events):
            event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            due = i >= spec.events
            if due:  # the reminder backlog: starts within the next 23 hours
                starts = anchor + timedelta(minutes=60 + randrange(22 * 60))
                capacity = None
                rejected = False
            else:
                starts = anchor + slot * (randrange(past_slots + future_slots + 1) - past_slots)
                capacity = None if random_() < 0.3 else 10 + randrange(491)
                rejected = random_() < 0.02
            yield (
                event_id,
                f"{titles[randrange(512)]} #{i}",
                short[randrange(64)],
                long[randrange(64)],
                starts,
                starts + hours[randrange(4)],
                _ZONES[randrange(len(_ZONES))],
                _PLACES[randrange(len(_PLACES))],
                "Free entry" if random_() < 0.5 else "500 RUB at the door",
                capacity,
                None,
                admin,
                created,
                created,
                cancelled if rejected else None,
                "Bench cancellation" if rejected else None,
            )
            self._participants(event_id, starts, capacity, due=due)

    def _participants(
        self, event_id: uuid.UUID, starts: datetime, capacity: int | None, *, due: bool
    ) -> None:
        spec, rng = self.spec, self.rng
        if due:
            count = min(spec.due_per_event, len(self.user_ids))
        elif self.user_ids and rng.random() < spec.participated_share:
            count = min(rng.randint(1, spec.max_participants), len(self.user_ids))
            if capacity is not None:
                count = min(count, capacity)
        else:
            return
        joined = starts - timedelta(days=3)
        for n, index in enumerate(rng.sample(range(len(self.user_ids)), count)):
            status = "REJECTED" if not due and rng.random() < 0.1 else "PARTICIPATING"
            at = joined + timedelta(seconds=n)
            self.participations.append((event_id, self.user_ids[index], status, at, at, None))
            self.due += due


# Binary COPY: about four times less work per row than text for psycopg and the server.
_TS = "timestamptz"
_USER_TYPES = ["uuid", "text", "text", "text", "text", "text", "bool", _TS, _TS, "text"]
_SESSION_TYPES = ["uuid", "uuid", "text", "text", "text", _TS, _TS, _TS]
_EVENT_TYPES = [
    "uuid",
    "text",
    "text",
    "text",
    _TS,
    _TS,
    "text",
    "text",
    "text",
    "int4",
    "text",
    "uuid",
    _TS,
    _TS,
    _TS,
    "text",
]
_PARTICIPATION_TYPES = ["uuid", "uuid", "text", _TS, _TS, _TS]

_FILLED = ("users", "login_sessions", "events", "participations")


@attrs.frozen
class _Schema:
    """The keys, indexes and foreign keys of the filled tables, to drop and put back."""

    keys: list[tuple[str, str, str]]
    indexes: list[tuple[str, str]]
    foreign_keys: list[tuple[str, str, str]]

    @classmethod
    def read(cls, conn: psycopg.Connection[Any]) -> _Schema:
        tables = list(_FILLED)
        keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype IN ('p', 'u')"
            " AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            (tables,),
        ).fetchall()
        foreign_keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f'"
            " AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))"
            " ORDER BY 1, 2",
            (tables, tables),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY 1",
            (tables,),
        ).fetchall()
        return cls(keys=keys, indexes=indexes, foreign_keys=foreign_keys)

    def drop(self, conn: psycopg.Connection[Any]) -> None:
        for table, name, _ in self.foreign_keys + self.keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        for name, _ in self.indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))

    def restore(self, conn: psycopg.Connection[Any]) -> None:
        for table, name, definition in self.keys + self.foreign_keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
                + sql.SQL(definition)  # the server's own text
            )
        for _, definition in self.indexes:
            conn.execute(definition.encode())


def fill(url: str, spec: SeedSpec) -> SeedReport:
    """Write ``spec``'s rows into the migrated, empty database at ``url`` with ``COPY``.

    As bulk loads do, the keys, indexes and foreign keys of the filled tables are
    dropped first and created again (from the server's own definitions, so the schema
    ends exactly as migrated) after the ``COPY``; that re-checks every foreign key too.
    Ends with ``VACUUM ANALYZE`` so that the planner and the visibility map see the
    data as a long-running database would.
    """
    anchor = spec.anchor_time()
    seconds: dict[str, float] = {}
    ids = user_ids(spec)
    with psycopg.connect(url, autocommit=True, options="-c timezone=UTC") as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        schema = _Schema.read(conn)
        schema.drop(conn)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(
                "COPY users (id, email, username, full_name, password_hash, role, is_system,"
                " created_at, deleted_at, locale) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_USER_TYPES)
                for row in _user_rows(spec, anchor):
                    copy.write_row(row)
            with cur.copy(
                "COPY login_sessions (uid, user_id, token_hash, user_agent, client_address,"
                " created_at, last_seen_at, expires_at) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_SESSION_TYPES)
                rng = _rng(spec.seed, "sessions")
                for i, user_id in enumerate(ids):
                    copy.write_row(
                        (
                            _uuid(rng),
                            user_id,
                            hash_token(token_for(spec.seed, i)),
                            "afisha-bench",
                            "127.0.0.1",
                            anchor,
                            anchor,
                            anchor + timedelta(days=30),
                        )
                    )
        seconds["users+sessions"] = time.perf_counter() - started

        started = time.perf_counter()
        maker = _EventMaker(spec, anchor, ids)
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(
                "COPY events (id, name, short_description, description, starts_at, ends_at,"
                " timezone, location, payment_info, max_participants_count, image_key,"
                " created_by, created_at, updated_at, rejected_at, rejection_reason)"
                " FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(_EVENT_TYPES)
            for row in maker.rows():
                copy.write_row(row)
        seconds["events"] = time.perf_counter() - started

        started = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(
                "COPY participations (event_id, user_id, status, created_at, status_changed_at,"
                " reminder_queued_at) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(_PARTICIPATION_TYPES)
            for row in maker.participations:
                copy.write_row(row)
        seconds["participations"] = time.perf_counter() - started

        started = time.perf_counter()
        with conn.transaction():
            schema.restore(conn)
        if _Schema.read(conn) != schema:
            raise RuntimeError("the restored keys and indexes differ from the migrated ones")
        seconds["keys+indexes"] = time.perf_counter() - started

        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        seconds["vacuum analyze"] = time.perf_counter() - started
    return SeedReport(
        events=spec.events + spec.due_events,
        users=spec.users,
        participations=len(maker.participations),
        due_participations=maker.due,
        anchor=anchor,
        seconds=seconds,
    )


def main(argv: list[str] | None = None) -> int:
    """Seed a new bench database and print how long it took."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--due-events", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default=f"afisha_bench_seed{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    spec = SeedSpec(
        events=args.events, users=args.users, seed=args.seed, due_events=args.due_events
    )
    started = time.perf_counter()
    url = asyncio.run(prepare(args.name))
    migrated = time.perf_counter() - started
    try:
        report = fill(url, spec)
    finally:
        if not args.keep:
            drop_database(args.name)
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    print(
        f"{args.name}: {report.events} events, {report.users} users, "
        f"{report.participations} participations ({report.due_participations} due); "
        f"create+migrate {migrated:.1f} s, {parts}; total {report.total_seconds:.1f} s"
        + ("" if not args.keep else f"\nkept: {url}")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
