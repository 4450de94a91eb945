"""A worker process for the crash test: one reminder tick, then mail ticks until killed.

``python -m tests.faults._tick_worker --database-url URL --schema S --smtp-port P``
runs the core's ticks as ``afisha worker`` does, with the real PostgreSQL and SMTP
adapters, a short outbox lease and small batches, and prints one line per tick. The
test kills it with SIGKILL while a mail batch is half sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta

from afisha_core import Settings
from tests.support.worker import add_worker_arguments, postgres_worker


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add_worker_arguments(parser)
    parser.add_argument("--lease", type=float, required=True, help="seconds")
    parser.add_argument("--batch", type=int, required=True)
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> Settings:
    """What the test's own delivery uses too: same lead, lease and batches."""
    return Settings(
        outbox_lease=timedelta(seconds=args.lease),
        outbox_batch_size=args.batch,
        reminder_batch_size=args.batch,
    )


async def main(args: argparse.Namespace) -> None:
    async with postgres_worker(args, settings(args), max_size=2) as afisha:
        queued = await afisha.reminders.send_due()
        print(f"reminders queued {queued}", flush=True)
        while True:
            report = await afisha.mail.deliver_due(max_batches=1)
            print(f"mail sent {report.sent}", flush=True)
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(parse_args(sys.argv[1:])))
