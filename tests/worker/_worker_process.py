"""One worker process of the two-process test, wired like ``afisha worker``.

``python -m tests.worker._worker_process --database-url URL --schema S --smtp-port P``
runs :func:`afisha_apscheduler.run_forever` with the real PostgreSQL and SMTP adapters
(the other ports are in-memory fakes: the worker never uses them) until SIGTERM. It
logs to stdout, one line per tick, prefixed with its process id.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

from afisha_apscheduler import run_forever
from afisha_core import Settings
from tests.support.worker import add_worker_arguments, postgres_worker


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add_worker_arguments(parser)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds")
    parser.add_argument("--reminder-batch", type=int, default=25)
    parser.add_argument("--mail-batch", type=int, default=10)
    parser.add_argument(
        "--start-at", type=float, default=0.0, help="a time.time() to start at, so workers race"
    )
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    settings = Settings(reminder_batch_size=args.reminder_batch, outbox_batch_size=args.mail_batch)
    async with postgres_worker(args, settings, max_size=4) as afisha:
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        await run_forever(afisha, timedelta(seconds=args.interval))


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        format="%(process)d %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two lines per job run
    asyncio.run(main(parse_args(sys.argv[1:])))
