"""Scenario (e) in a process of its own: one reminder tick over the whole backlog.

``--mode afisha`` builds the production runtime with the composition root
(:func:`afisha_server.bootstrap.build_runtime`: PostgreSQL, in-memory storage) and
runs the reminders job exactly as :class:`afisha_apscheduler.Worker` does: batch after
batch of ``afisha.reminders.send_due(max_batches=1)`` until a short batch. ``--mode
baseline`` does the same claims set-based: one SQL statement per batch of the same size
claims the rows and writes their notifications and outbox emails.

The process's resident memory is read from ``/proc/self/status`` after every batch, so
"flat memory" is checked on the process doing the work. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from afisha_server.bootstrap import build_runtime
from afisha_server.config import ServerConfig

__all__ = ["main", "rss_kib"]

_BASELINE_BATCH = """
WITH due AS (
    SELECT p.event_id, p.user_id
    FROM participations p
    JOIN events e ON e.id = p.event_id
    JOIN users u ON u.id = p.user_id
    WHERE p.status = 'PARTICIPATING' AND p.reminder_queued_at IS NULL
      AND e.rejected_at IS NULL AND e.starts_at > %(now)s
      AND e.starts_at <= %(horizon)s AND u.deleted_at IS NULL
    ORDER BY e.starts_at, p.event_id, p.user_id
    LIMIT %(limit)s
    FOR UPDATE OF p SKIP LOCKED
), claimed AS (
    UPDATE participations p SET reminder_queued_at = %(now)s
    FROM due WHERE p.event_id = due.event_id AND p.user_id = due.user_id
    RETURNING p.event_id, p.user_id
), message AS (
    SELECT u.id AS user_id, u.email, 'Reminder: ' || e.name AS subject,
           e.name || ' starts soon.' || chr(10) || chr(10) || 'When: ' || e.starts_at::text
           || chr(10) || chr(10) || 'Add to calendar: ' || %(base)s || e.id || '/calendar.ics'
           AS body
    FROM claimed c JOIN events e ON e.id = c.event_id JOIN users u ON u.id = c.user_id
), notified AS (
    INSERT INTO notifications (id, user_id, title, content, cta_url, cta_label, created_at)
    SELECT gen_random_uuid(), user_id, subject, body, NULL, 'Add to calendar', %(now)s
    FROM message
)
INSERT INTO outbox (id, recipient, subject, text_body, html_body, status, attempts,
                    created_at, next_attempt_at)
SELECT gen_random_uuid(), email, subject, body, NULL, 'PENDING', 0, %(now)s, %(now)s
FROM message
RETURNING 1
"""


def rss_kib(field: str = "VmRSS") -> int:
    """The resident memory of this process (``VmRSS``) or its peak (``VmHWM``), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def _afisha(url: str) -> tuple[int, list[int], float]:
    with tempfile.TemporaryDirectory(prefix="afisha-bench-tick-") as tmp:
        config = ServerConfig(database_url=url, storage_url="memory://", data_dir=tmp)
        runtime = await build_runtime(config, migrate=False)
        try:
            afisha = runtime.afisha
            size = afisha.settings.reminder_batch_size
            total, samples = 0, [rss_kib()]
            started = time.perf_counter()
            while True:
                batch = await afisha.reminders.send_due(max_batches=1)
                total += batch
                samples.append(rss_kib())
                if batch < size:
                    return total, samples, time.perf_counter() - started
        finally:
            await runtime.aclose()


async def _baseline(url: str, batch_size: int, lead_hours: float) -> tuple[int, list[int], float]:
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, options="-c timezone=UTC"
    ) as conn:
        total, samples = 0, [rss_kib()]
        started = time.perf_counter()
        while True:
            now = datetime.now(UTC)
            params: dict[str, Any] = {
                "now": now,
                "horizon": now + timedelta(hours=lead_hours),
                "limit": batch_size,
                "base": "http://127.0.0.1:8080/v1/events/",
            }
            cursor = await conn.execute(_BASELINE_BATCH, params)
            batch = len(await cursor.fetchall())
            total += batch
            samples.append(rss_kib())
            if batch < batch_size:
                return total, samples, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run one tick and print ``{"claims", "seconds", "rss_kib": [...], "peak_kib"}``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reminder_tick")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--mode", choices=("afisha", "baseline"), default="afisha")
    parser.add_argument("--batch-size", type=int, default=100, help="baseline only")
    parser.add_argument("--lead-hours", type=float, default=24.0, help="baseline only")
    args = parser.parse_args(argv)
    if args.mode == "afisha":
        claims, samples, seconds = asyncio.run(_afisha(args.database_url))
    else:
        claims, samples, seconds = asyncio.run(
            _baseline(args.database_url, args.batch_size, args.lead_hours)
        )
    report = {
        "claims": claims,
        "seconds": seconds,
        "rss_kib": samples,
        "peak_kib": rss_kib("VmHWM"),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
