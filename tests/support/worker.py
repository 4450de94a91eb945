"""The core as ``afisha worker`` wires it, for the tests that run worker processes.

A worker only ticks: it needs the store, the mailer and the real clock. The other
ports (hasher, rate limiter, object storage) are in-memory fakes it never uses.
:func:`postgres_worker` opens that core on a PostgreSQL schema and an SMTP server,
for the worker processes the tests start (``python -m tests.worker._worker_process``,
``python -m tests.faults._tick_worker``); :func:`add_worker_arguments` gives them
their shared command-line options.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from afisha_core import Afisha, Mailer, Settings, SystemClock, UnitOfWorkFactory
from afisha_core.testing import FastPasswordHasher, InMemoryObjectStorage, InMemoryRateLimiter
from afisha_postgres import PostgresDatabase
from afisha_smtp import SmtpMailer

__all__ = ["add_worker_arguments", "postgres_worker", "worker_afisha"]


def worker_afisha(uow: UnitOfWorkFactory, mailer: Mailer, settings: Settings) -> Afisha:
    """The core on ``uow`` and ``mailer`` with the real clock, as a worker runs it."""
    clock = SystemClock()
    return Afisha(
        uow=uow,
        hasher=FastPasswordHasher(),
        limiter=InMemoryRateLimiter(clock),
        storage=InMemoryObjectStorage(),
        mailer=mailer,
        clock=clock,
        settings=settings,
    )


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """``--database-url``, ``--schema``, ``--smtp-host`` and ``--smtp-port``."""
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--smtp-host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)


@asynccontextmanager
async def postgres_worker(
    args: argparse.Namespace, settings: Settings, *, max_size: int
) -> AsyncIterator[Afisha]:
    """A worker's core on the schema and SMTP server named by ``args``; closed after."""
    db = PostgresDatabase(args.database_url, schema=args.schema, max_size=max_size)
    await db.open(wait=True)
    try:
        yield worker_afisha(db, SmtpMailer(args.smtp_host, args.smtp_port), settings)
    finally:
        await db.close()
