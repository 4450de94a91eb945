"""The SQLite migration runner, the schema it builds, and races on a real file.

Everything here runs against real SQLite files in ``tmp_path``; the multi-process tests
start real Python processes on the same file.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from afisha_core.app import Afisha
from afisha_core.domain import EventView, ParticipationStatus, User
from afisha_core.errors import EventFull
from afisha_core.migrations import DatabaseNewerThanCode, load_migrations
from afisha_core.ports import EventQuery
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
    RecordingMailer,
    RecordingTokenGenerator,
)
from afisha_core.testing.builders import make_event, make_session, make_user
from afisha_core.usecases import EventDraft
from afisha_sqlite import SqliteDatabase, apply_migrations, default_migrations_dir
from afisha_sqlite.migrate import applied_versions, split_statements

REPO = Path(__file__).resolve().parents[2]
SQLITE_DIR = REPO / "migrations" / "sqlite"
POSTGRES_DIR = REPO / "migrations" / "postgres"
ALL_VERSIONS = [m.version for m in load_migrations(SQLITE_DIR)]


def recorded(path: Path) -> list[tuple[int, str]]:
    """The rows of afisha_schema_migrations (none without the table), read on our own connection."""
    if "afisha_schema_migrations" not in tables(path):
        return []
    conn = sqlite3.connect(path)
    try:
        return [
            (int(v), str(n))
            for v, n in conn.execute(
                "SELECT version, name FROM afisha_schema_migrations ORDER BY 1"
            )
        ]
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    """The names of the tables in the file."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {str(name) for (name,) in rows}
    finally:
        conn.close()


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start a Python process running ``code`` (from the repository root)."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for ``process``; fail with its stderr unless it succeeded; return stdout."""
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


@pytest_asyncio.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with SqliteDatabase(tmp_path / "afisha.db") as db:
        await db.migrate()
        yield db


# --- the files ---------------------------------------------------------------------------


def test_the_migrations_are_found_in_the_repository() -> None:
    assert default_migrations_dir() == SQLITE_DIR
    assert list(range(1, len(ALL_VERSIONS) + 1)) == ALL_VERSIONS
    assert ALL_VERSIONS


def test_split_statements_respects_strings_comments_and_triggers() -> None:
    sql = """
        -- a comment; with a semicolon
        CREATE TABLE t (x TEXT DEFAULT 'a;b');
        /* block; comment */
        CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN
            UPDATE t SET x = 'c;d' WHERE rowid = new.rowid;
        END;
        INSERT INTO t (x) VALUES ('last, no semicolon')
        -- trailing comment;
    """
    statements = list(split_statements(sql))
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'a;b');")
    assert statements[1].startswith("/* block; comment */")
    assert statements[1].endswith("END;")
    assert statements[2].startswith("INSERT")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    assert conn.execute("SELECT x FROM t").fetchall() == [("c;d",)]
    conn.close()


def _postgres_schema() -> dict[str, set[str]]:
    """Table name -> column names, read from the PostgreSQL migrations."""
    schema: dict[str, set[str]] = {}
    for migration in load_migrations(POSTGRES_DIR):
        for match in re.finditer(r"CREATE TABLE (\w+) \((.*?)\n\);", migration.sql, re.S):
            columns = {
                line.split()[0]
                for line in match.group(2).splitlines()
                if line.strip()
                and not line.strip().startswith(("--", "CHECK", "PRIMARY", "UNIQUE"))
            }
            schema[match.group(1)] = columns
        for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", migration.sql):
            schema[table].add(column)
    return schema


def _postgres_indexes() -> set[str]:
    found: set[str] = set()
    for migration in load_migrations(POSTGRES_DIR):
        found.update(re.findall(r"CREATE (?:UNIQUE )?INDEX (\w+)", migration.sql))
    return found


async def test_the_schema_mirrors_the_postgresql_one(database: SqliteDatabase) -> None:
    conn = sqlite3.connect(database.path)
    try:
        names = {
            name: kind
            for name, kind in conn.execute("SELECT name, type FROM sqlite_master")
            if not name.startswith("sqlite_")
        }
        for table, columns in _postgres_schema().items():
            assert names.get(table) == "table", table
            stored = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            assert stored == columns, table
        for index in _postgres_indexes():
            assert names.get(index) == "index", index
        partial_unique = {
            row[1]
            for row in conn.execute("PRAGMA index_list(users)")
            if row[2] == 1 and row[4] == 1  # unique and partial
        }
        assert partial_unique == {"users_email_live_key", "users_username_live_key"}
    finally:
        conn.close()


async def test_the_connection_is_set_up_for_several_processes(database: SqliteDatabase) -> None:
    conn = sqlite3.connect(database.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()
    orphan = make_session(make_user().id)
    async with database() as uow:
        with pytest.raises(ValueError, match="constraint"):  # foreign keys are on
            await uow.sessions.add(orphan)


# --- applying ----------------------------------------------------------------------------


async def test_migrate_applies_everything_to_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "afisha.db"
    async with SqliteDatabase(path) as db:
        applied = await db.migrate()
    assert [m.version for m in applied] == ALL_VERSIONS
    assert [v for v, _ in recorded(path)] == ALL_VERSIONS
    assert recorded(path)[0] == (1, "initial")
    assert {"users", "events", "participations", "outbox", "afisha_schema_migrations"} <= tables(
        path
    )


async def test_migrate_again_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "afisha.db"
    async with SqliteDatabase(path) as db:
        await db.migrate()
        before = recorded(path)
        assert await db.migrate() == []
    async with SqliteDatabase(path) as db:
        assert await db.migrate() == []
    assert recorded(path) == before


async def test_two_databases_migrating_one_file_at_once_apply_each_file_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "afisha.db"
    async with SqliteDatabase(path) as first, SqliteDatabase(path) as second:
        results = await asyncio.gather(first.migrate(), second.migrate(), first.migrate())
    applied = [m.version for result in results for m in result]
    assert sorted(applied) == ALL_VERSIONS
    assert [v for v, _ in recorded(path)] == ALL_VERSIONS


def test_two_processes_migrating_one_file_at_once_apply_each_file_once(tmp_path: Path) -> None:
    path = tmp_path / "afisha.db"
    code = """
        import asyncio, sys
        from afisha_sqlite import SqliteDatabase

        async def main() -> None:
            async with SqliteDatabase(sys.argv[1]) as db:
                print(len(await db.migrate()))

        asyncio.run(main())
    """
    processes = [run_python(code, str(path)) for _ in range(3)]
    counts = [int(finish(p)) for p in processes]
    assert sum(counts) == len(ALL_VERSIONS)
    assert [v for v, _ in recorded(path)] == ALL_VERSIONS


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "afisha.db"
    async with SqliteDatabase(path) as db:
        await db.migrate()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO afisha_schema_migrations (version, name, applied_at) "
            "VALUES (99, 'from_the_future', '2031-01-01T00:00:00.000000+00:00')"
        )
    conn.close()
    async with SqliteDatabase(path) as db:
        with pytest.raises(DatabaseNewerThanCode, match="99"):
            await db.migrate()
        async with db() as uow:  # the refusal left the connection usable
            assert await uow.users.get(make_user().id) is None


def test_a_failing_migration_leaves_nothing_of_itself_behind(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    broken = migrations / "0002_broken.sql"
    broken.write_text(
        "CREATE TABLE b (x INTEGER);\n"
        "INSERT INTO a (x) VALUES (1);\n"
        "CREATE TABLE c (x INTEGER,);\n"  # a syntax error
    )
    path = tmp_path / "afisha.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            apply_migrations(conn, migrations)
        assert any("0002_broken" in note for note in caught.value.__notes__)
        assert not conn.in_transaction
        assert applied_versions(conn) == [1]
        assert "b" not in tables(path)
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (0,)
        broken.write_text("CREATE TABLE b (x INTEGER);\nINSERT INTO a (x) VALUES (1);\n")
        assert [m.version for m in apply_migrations(conn, migrations)] == [2]
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (1,)
    finally:
        conn.close()


async def test_a_failing_migration_through_the_database(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_broken.sql").write_text("CREATE TABLE a (x);\nSELECT * FROM nowhere;\n")
    path = tmp_path / "afisha.db"
    async with SqliteDatabase(path, migrations_dir=migrations) as db:
        with pytest.raises(sqlite3.OperationalError, match="nowhere"):
            await db.migrate()
    assert recorded(path) == []
    assert "a" not in tables(path)  # the table of the failed file was rolled back too


def test_the_runner_needs_a_connection_without_implicit_transactions(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "afisha.db")
    try:
        with pytest.raises(ValueError, match="isolation_level=None"):
            apply_migrations(conn)
    finally:
        conn.close()


async def test_data_persists_across_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "afisha.db"
    user = make_user(full_name="Пётр Петров")
    event = make_event(created_by=user.id)
    async with SqliteDatabase(path) as db:
        await db.migrate()
        async with db() as uow:
            await uow.users.add(user)
            await uow.events.add(event)
            await uow.commit()
    async with SqliteDatabase(path) as db:
        assert await db.migrate() == []
        async with db() as uow:
            assert await uow.users.get(user.id) == user
            assert await uow.events.get(event.id) == event


# --- what the core relies on, beyond the contract suite ----------------------------------


async def test_include_finished_lists_events_that_have_ended(database: SqliteDatabase) -> None:
    ended = make_event()
    now = ended.ends_at + timedelta(days=1)
    async with database() as uow:
        await uow.events.add(ended)
        await uow.commit()
    async with database() as uow:
        assert list(await uow.events.list_views(EventQuery(), now, None)) == []
        listed = await uow.events.list_views(EventQuery(include_finished=True), now, None)
        assert [v.event.id for v in listed] == [ended.id]


# --- races through the use cases ---------------------------------------------------------


def afisha_on(db: SqliteDatabase) -> Afisha:
    """The core wired to ``db`` and the fakes of afisha_core.testing."""
    clock = FakeClock()
    return Afisha(
        uow=db,
        hasher=FastPasswordHasher(),
        limiter=InMemoryRateLimiter(clock),
        storage=InMemoryObjectStorage(),
        mailer=RecordingMailer(),
        clock=clock,
        tokens=RecordingTokenGenerator(),
    )


async def published_event(afisha: Afisha, capacity: int) -> tuple[User, EventView]:
    admin = await afisha.accounts.create_administrator(
        "admin@example.org", "admin", "correct horse battery"
    )
    starts_at = afisha.clock.now() + timedelta(days=3)
    draft = EventDraft(
        name="Concert",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        max_participants_count=capacity,
    )
    return admin, await afisha.events.create(admin, draft)


async def add_people(db: SqliteDatabase, count: int) -> list[User]:
    people = [make_user() for _ in range(count)]
    async with db() as uow:
        for person in people:
            await uow.users.add(person)
        await uow.commit()
    return people


async def test_thirty_racing_joins_fill_five_spots_exactly(database: SqliteDatabase) -> None:
    afisha = afisha_on(database)
    _, view = await published_event(afisha, capacity=5)
    people = await add_people(database, 30)

    outcomes = await asyncio.gather(
        *(afisha.participation.join(p, view.event.id) for p in people), return_exceptions=True
    )
    winners = [o for o in outcomes if isinstance(o, EventView)]
    assert len(winners) == 5
    assert sum(isinstance(o, EventFull) for o in outcomes) == 25
    assert all(w.my_status is ParticipationStatus.PARTICIPATING for w in winners)
    async with database() as uow:
        assert await uow.participations.count(view.event.id, ParticipationStatus.PARTICIPATING) == 5
        stored = await uow.events.get_view(view.event.id, None)
    assert stored is not None
    assert stored.participants_count == 5
    assert stored.spots_left == 0


async def test_thirty_racing_joins_with_waitlist_then_a_leave_promotes_one(
    database: SqliteDatabase,
) -> None:
    afisha = afisha_on(database)
    _, view = await published_event(afisha, capacity=5)
    event_id = view.event.id
    people = await add_people(database, 30)

    outcomes = await asyncio.gather(
        *(afisha.participation.join(p, event_id, waitlist=True) for p in people)
    )
    statuses = [o.my_status for o in outcomes]
    assert statuses.count(ParticipationStatus.PARTICIPATING) == 5
    assert statuses.count(ParticipationStatus.WAITLISTED) == 25
    async with database() as uow:
        first_waiting = await uow.participations.next_waitlisted(event_id)
    assert first_waiting is not None

    leaver = next(
        p for p, s in zip(people, statuses, strict=True) if s is ParticipationStatus.PARTICIPATING
    )
    await afisha.participation.leave(leaver, event_id)
    async with database() as uow:
        promoted = await uow.participations.get(event_id, first_waiting.user_id)
        after = await uow.events.get_view(event_id, None)
    assert promoted is not None
    assert promoted.status is ParticipationStatus.PARTICIPATING
    assert after is not None
    assert (after.participants_count, after.waitlist_count) == (5, 24)


def test_joins_racing_from_three_processes_fill_five_spots_exactly(tmp_path: Path) -> None:
    path = tmp_path / "afisha.db"
    event = make_event(max_participants_count=5)
    people = [make_user() for _ in range(30)]

    async def seed() -> None:
        async with SqliteDatabase(path) as db:
            await db.migrate()
            async with db() as uow:
                await uow.events.add(event)
                for person in people:
                    await uow.users.add(person)
                await uow.commit()

    asyncio.run(seed())
    # Each process joins its own ten people, all at once, the way ParticipationService
    # does: lock the event, count, decide, save, commit.
    code = """
        import asyncio, json, sys
        from uuid import UUID
        from afisha_core.domain import ParticipationStatus as S
        from afisha_core.testing.builders import make_participation
        from afisha_sqlite import SqliteDatabase

        async def main() -> None:
            event_id = UUID(sys.argv[2])
            async with SqliteDatabase(sys.argv[1]) as db:
                async def join(user_id: UUID) -> str:
                    async with db() as uow:
                        event = await uow.events.get_for_update(event_id)
                        taken = await uow.participations.count(event_id, S.PARTICIPATING)
                        status = S.PARTICIPATING if event.has_room(taken) else S.WAITLISTED
                        await uow.participations.save(
                            make_participation(event_id, user_id, status=status)
                        )
                        await uow.commit()
                        return status.value

                ids = [UUID(u) for u in sys.argv[3:]]
                print(json.dumps(await asyncio.gather(*(join(u) for u in ids))))

        asyncio.run(main())
    """
    processes = [
        run_python(code, str(path), str(event.id), *(str(p.id) for p in people[i::3]))
        for i in range(3)
    ]
    outcomes = [status for p in processes for status in json.loads(finish(p))]
    assert len(outcomes) == 30
    assert outcomes.count("PARTICIPATING") == 5
    assert outcomes.count("WAITLISTED") == 25
