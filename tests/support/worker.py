"""The core as ``afisha worker`` wires it, for the tests that run worker processes.

A worker only ticks: it needs the store, the mailer and the real clock. The other
ports (hasher, rate limiter, object storage) are in-memory fakes it never uses.
:func:`postgres_worker` opens that core on a PostgreSQL schema and an SMTP server,
for the worker processes the tests start (``python -m tests.worker._worker_process``,
``python -m tests.faults._tick_worker``); :func:`add_worker_arguments` gives them
their shared command-line options, and :func:`start_worker` starts one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from afisha_core import Afisha, Mailer, Settings, SystemClock, UnitOfWorkFactory
from afisha_core.testing import FastPasswordHasher, InMemoryObjectStorage, InMemoryRateLimiter
from afisha_postgres import PostgresDatabase
from afisha_smtp import SmtpMailer

__all__ = ["add_worker_arguments", "postgres_worker", "start_worker", "worker_afisha"]

ROOT = Path(__file__).resolve().parents[2]


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


async def start_worker(
    module: str,
    url: str,
    schema: str,
    smtp_port: int,
    *options: str,
    stdout: int | IO[bytes],
) -> asyncio.subprocess.Process:
    """``python -W error -m module`` on the schema and SMTP port, from the repository root.

    ``options`` are the module's own; its output (stderr too) goes to ``stdout``.
    """
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-W", "error", "-m", module),
        *("--database-url", url, "--schema", schema, "--smtp-port", str(smtp_port)),
        *options,
        cwd=ROOT,
        stdout=stdout,
        stderr=asyncio.subprocess.STDOUT,
    )
