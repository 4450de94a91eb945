"""Two worker processes, one PostgreSQL schema, a real SMTP server: each reminder once.

Two OS processes each run ``afisha_apscheduler.run_forever`` (as ``afisha worker``
does) with the real :class:`~afisha_postgres.PostgresDatabase` and
:class:`~afisha_smtp.SmtpMailer`, against 500 due participations seeded straight into
the schema. The aiosmtpd server must receive exactly 500 reminder emails, one per
participant, none twice; then SIGTERM stops both processes gracefully.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import LiteralString

from afisha_core.testing.builders import make_event, make_participation, make_user
from afisha_postgres import PostgresDatabase
from tests.support.pg import fresh_schema
from tests.support.smtp_server import SmtpTestServer
from tests.support.worker import start_worker

PARTICIPANTS = 500
EVENTS = 5
TICK_LINE = re.compile(r"^\d+ INFO afisha_apscheduler: (reminders|mail): (.*) \(")


async def eventually(condition: Callable[[], bool], what: str, *, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)


async def seed(db: PostgresDatabase) -> set[str]:
    """Events starting within the lead (on the real clock), each with 100 participants."""
    now = datetime.now(UTC)
    events = [
        make_event(starts_at=now + timedelta(hours=1 + i), created_at=now, updated_at=now)
        for i in range(EVENTS)
    ]
    users = [make_user(created_at=now) for _ in range(PARTICIPANTS)]
    async with db() as uow:
        for event in events:
            await uow.events.add(event)
        for i, user in enumerate(users):
            await uow.users.add(user)
            await uow.participations.save(
                make_participation(
                    events[i % EVENTS].id, user.id, created_at=now, status_changed_at=now
                )
            )
        await uow.commit()
    return {user.email for user in users}


async def count(db: PostgresDatabase, query: LiteralString) -> int:
    async with db() as uow:
        value = await uow.execute_scalar(query)
    assert isinstance(value, int)
    return value


def tick_totals(log: str) -> dict[str, int]:
    """Sum what one process's tick lines report: reminders queued and mail sent, etc."""
    totals = Counter[str]()
    for line in log.splitlines():
        match = TICK_LINE.match(line)
        if match is None:
            continue
        job, summary = match.groups()
        for word, number in re.findall(r"(\w+) (\d+)", summary):
            totals[f"{job} {word}"] += int(number)
    return dict(totals)


async def test_two_worker_processes_send_each_of_500_reminders_exactly_once(
    tmp_path: Path,
) -> None:
    async with fresh_schema() as (url, schema):
        db = PostgresDatabase(url, schema=schema, max_size=2)
        await db.migrate()
        await db.open(wait=True)
        try:
            recipients = await seed(db)
            with SmtpTestServer() as server:
                logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
                start_at = time.time() + 1.0  # both start together, once both are up
                processes = []
                for log in logs:
                    with log.open("wb") as out:
                        processes.append(
                            await start_worker(
                                "tests.worker._worker_process",
                                url,
                                schema,
                                server.port,
                                *("--interval", "0.2", "--start-at", str(start_at)),
                                stdout=out,
                            )
                        )
                try:
                    await eventually(
                        lambda: (
                            len(server.received) >= PARTICIPANTS
                            or any(p.returncode is not None for p in processes)
                        ),
                        f"{PARTICIPANTS} emails received",
                        within=15,
                    )
                    # Some more ticks of both workers: time for any duplicate to show up.
                    await asyncio.sleep(0.6)
                finally:
                    for process in processes:
                        if process.returncode is None:
                            process.send_signal(signal.SIGTERM)
                    codes = [await asyncio.wait_for(p.wait(), 10) for p in processes]
                received = server.received

            outputs = [log.read_text() for log in logs]
            assert codes == [0, 0], "\n\n".join(outputs)
            recipients_seen = [to for message in received for to in message.rcpt_tos]
            duplicates = {to: n for to, n in Counter(recipients_seen).items() if n > 1}
            print(
                f"\ntwo workers: {len(received)} emails received, "
                f"{len(set(recipients_seen))} distinct recipients, {len(duplicates)} duplicated"
            )
            assert duplicates == {}
            assert len(received) == PARTICIPANTS
            assert set(recipients_seen) == recipients
            assert all(m.email().subject.startswith("Reminder: ") for m in received)

            totals = [tick_totals(output) for output in outputs]
            print(f"per worker: {totals}")
            assert sum(t.get("reminders queued", 0) for t in totals) == PARTICIPANTS
            assert sum(t.get("mail sent", 0) for t in totals) == PARTICIPANTS
            assert all(t.get("mail sent", 0) > 0 for t in totals), "both workers should send"
            for output in outputs:
                assert "worker stopping (SIGTERM)" in output
                assert output.rstrip().endswith("worker stopped"), output
                assert "Traceback" not in output, output
                assert " ERROR " not in output, output

            assert await count(db, "SELECT count(*) FROM outbox WHERE status = 'SENT'") == (
                PARTICIPANTS
            )
            assert await count(db, "SELECT count(*) FROM outbox") == PARTICIPANTS
            assert await count(db, "SELECT count(*) FROM notifications") == PARTICIPANTS
            assert (
                await count(
                    db, "SELECT count(*) FROM participations WHERE reminder_queued_at IS NULL"
                )
                == 0
            )
        finally:
            await db.close()
