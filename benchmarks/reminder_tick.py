"""Scenario (e) in a process of its own: one reminder tick over the whole backlog.

``--mode afisha`` builds the production runtime with the composition root
(:func:`afisha_server.bootstrap.build_runtime`: PostgreSQL, in-memory storage) and
runs the reminders job exactly as :class:`afisha_apscheduler.Worker` does: batch after
batch of ``afisha.reminders.send_due(max_batches=1)`` until a short batch.

``--mode baseline`` is the same work written by hand, set-based, and writes the same
rows with the same content: per batch of the same size
(``Settings.reminder_batch_size``), in one transaction, one statement claims the
batch and returns what the texts need (the event's name, times, time zone and
location, the recipient's email and locale), each text is rendered once per event and
language with the core's own :func:`afisha_core.usecases.messages.reminder` (so the
notification, the plain-text email and its HTML part are byte for byte Afisha's, with
the same event link), and one statement each writes the batch's notifications and
its outbox emails, sending every distinct text once (rows pick theirs by index).

The process's resident memory is read from ``/proc/self/status`` after every batch, so
"flat memory" is checked on the process doing the work. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from afisha_core.domain import Event
from afisha_core.settings import Settings
from afisha_core.usecases import messages
from afisha_server.bootstrap import build_runtime, settings_of
from afisha_server.config import ServerConfig

__all__ = ["main", "rss_kib", "tick", "tick_config"]

_CLAIM = """
UPDATE participations p SET reminder_queued_at = %(now)s
FROM (
    SELECT p.event_id, p.user_id, e.name, e.starts_at, e.ends_at, e.timezone, e.location,
           u.email, u.locale
    FROM participations p
    JOIN events e ON e.id = p.event_id
    JOIN users u ON u.id = p.user_id
    WHERE p.status = 'PARTICIPATING' AND p.reminder_queued_at IS NULL
      AND e.rejected_at IS NULL AND e.starts_at > %(now)s
      AND e.starts_at <= %(horizon)s AND u.deleted_at IS NULL
    ORDER BY e.starts_at, p.event_id, p.user_id
    LIMIT %(limit)s
    FOR UPDATE OF p SKIP LOCKED
) d
WHERE p.event_id = d.event_id AND p.user_id = d.user_id
RETURNING d.event_id, d.user_id, d.name, d.starts_at, d.ends_at, d.timezone, d.location,
          d.email, d.locale
"""
# Each row names its text by a 1-based index into arrays holding every distinct text once.
_NOTIFICATIONS = """
INSERT INTO notifications (id, user_id, title, content, cta_url, cta_label, created_at)
SELECT gen_random_uuid(), r.user_id, (%(titles)s::text[])[r.k], (%(contents)s::text[])[r.k],
       (%(urls)s::text[])[r.k], (%(labels)s::text[])[r.k], %(now)s
FROM unnest(%(users)s::uuid[], %(keys)s::int[]) AS r(user_id, k)
"""
_OUTBOX = """
INSERT INTO outbox (id, recipient, subject, text_body, html_body, status, attempts,
                    created_at, next_attempt_at)
SELECT gen_random_uuid(), r.recipient, (%(subjects)s::text[])[r.k],
       (%(texts)s::text[])[r.k], (%(htmls)s::text[])[r.k], 'PENDING', 0, %(now)s, %(now)s
FROM unnest(%(recipients)s::text[], %(keys)s::int[]) AS r(recipient, k)
"""


def rss_kib(field: str = "VmRSS") -> int:
    """The resident memory of this process (``VmRSS``) or its peak (``VmHWM``), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tick_config(url: str, data_dir: str) -> ServerConfig:
    """The configuration both modes run with (so the same settings, links included)."""
    return ServerConfig(database_url=url, storage_url="memory://", data_dir=data_dir)


async def _afisha(url: str) -> tuple[int, list[int], float, int]:
    with tempfile.TemporaryDirectory(prefix="afisha-bench-tick-") as tmp:
        runtime = await build_runtime(tick_config(url, tmp), migrate=False)
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
                    return total, samples, time.perf_counter() - started, size
        finally:
            await runtime.aclose()


class _Texts:
    """Every distinct reminder of a batch, once, as the parallel arrays the inserts take."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index: dict[tuple[uuid.UUID, str], int] = {}
        self.titles: list[str] = []
        self.contents: list[str] = []
        self.urls: list[str | None] = []
        self.labels: list[str | None] = []
        self.texts: list[str] = []
        self.htmls: list[str | None] = []

    def key(self, row: tuple[Any, ...]) -> int:
        """The 1-based index of row ``row``'s text, rendered on first sight."""
        event_id, _user, name, starts_at, ends_at, zone, location, email, locale = row
        found = self.index.get((event_id, locale))
        if found is not None:
            return found
        event = Event(
            id=event_id,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=zone,
            location=location,
            created_at=starts_at,
            updated_at=starts_at,
        )
        message = messages.reminder(event, self.settings, locale)
        mail = message.email(email)  # the texts do not depend on the address
        self.titles.append(message.subject)
        self.contents.append(message.text)
        self.urls.append(message.cta_url)
        self.labels.append(message.cta_label)
        self.texts.append(mail.text)
        self.htmls.append(mail.html)
        self.index[(event_id, locale)] = len(self.titles)
        return len(self.titles)


async def _baseline(url: str, batch_size: int | None) -> tuple[int, list[int], float, int]:
    with tempfile.TemporaryDirectory(prefix="afisha-bench-tick-") as tmp:
        settings = settings_of(tick_config(url, tmp))
    size = batch_size or settings.reminder_batch_size
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, options="-c timezone=UTC"
    ) as conn:
        total, samples = 0, [rss_kib()]
        started = time.perf_counter()
        while True:
            now = datetime.now(UTC)
            async with conn.transaction():
                cursor = await conn.execute(
                    _CLAIM,
                    {"now": now, "horizon": now + settings.reminder_lead, "limit": size},
                )
                rows = await cursor.fetchall()
                if rows:
                    texts = _Texts(settings)
                    keys = [texts.key(row) for row in rows]
                    await conn.execute(
                        _NOTIFICATIONS,
                        {
                            "titles": texts.titles,
                            "contents": texts.contents,
                            "urls": texts.urls,
                            "labels": texts.labels,
                            "users": [row[1] for row in rows],
                            "keys": keys,
                            "now": now,
                        },
                    )
                    await conn.execute(
                        _OUTBOX,
                        {
                            "subjects": texts.titles,
                            "texts": texts.texts,
                            "htmls": texts.htmls,
                            "recipients": [row[7] for row in rows],
                            "keys": keys,
                            "now": now,
                        },
                    )
            total += len(rows)
            samples.append(rss_kib())
            if len(rows) < size:
                return total, samples, time.perf_counter() - started, size


async def tick(url: str, mode: str, batch_size: int | None = None) -> dict[str, Any]:
    """Run one tick in this process; return ``{"claims", "seconds", "rss_kib", "batch"}``.

    ``batch_size`` is for the baseline only (afisha's is ``Settings.reminder_batch_size``).
    """
    if mode == "afisha":
        claims, samples, seconds, batch = await _afisha(url)
    elif mode == "baseline":
        claims, samples, seconds, batch = await _baseline(url, batch_size)
    else:
        raise ValueError(f"mode is afisha or baseline, not {mode!r}")
    return {"claims": claims, "seconds": seconds, "rss_kib": samples, "batch": batch}


def main(argv: list[str] | None = None) -> int:
    """Run one tick; print ``{"claims", "seconds", "rss_kib": [...], "peak_kib", "batch"}``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reminder_tick")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--mode", choices=("afisha", "baseline"), default="afisha")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="baseline only (default: Settings.reminder_batch_size, as afisha)",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(tick(args.database_url, args.mode, args.batch_size))
    report["peak_kib"] = rss_kib("VmHWM")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
