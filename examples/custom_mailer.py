"""A Mailer adapter of your own: every email appended as one JSON line to a file.

A port is a ``typing.Protocol``: an adapter does not inherit from anything, it only has
the methods the port lists, and mypy checks that structurally where the adapter is
handed to :class:`~afisha_core.app.Afisha`. The ``Mailer`` port has one method,
``async def send(email)``, which returns once the email is safely handed over and
raises ``TemporaryDeliveryError`` (try again later) or ``PermanentDeliveryError``
(never) otherwise; the outbox does the retrying.

Such a file can feed another system (a queue, a CRM, an audit log). The emails are
stored with the core's own cattrs converter, so they read back as equal ``Email`` values.
``examples/test_custom_mailer.py`` runs the core's ``MailerContract`` against it.

    python examples/custom_mailer.py     # registers someone and shows the line written
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
from pathlib import Path

from afisha_core.app import Afisha
from afisha_core.domain import Email
from afisha_core.errors import TemporaryDeliveryError
from afisha_core.serialization import make_converter
from afisha_core.testing import (
    FakeClock,
    FastPasswordHasher,
    InMemoryDatabase,
    InMemoryObjectStorage,
    InMemoryRateLimiter,
)

__all__ = ["JsonlMailer"]


class JsonlMailer:
    """A :class:`~afisha_core.ports.Mailer` appending each email to a JSON Lines file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._converter = make_converter()
        self._lock = threading.Lock()  # writes happen on worker threads

    async def send(self, email: Email) -> None:
        """Append ``email`` as one line, flushed to disk before returning.

        Raises :class:`TemporaryDeliveryError` when the file cannot be written (a full
        disk, a missing folder, no permission): the outbox tries again later.
        """
        line = json.dumps(self._converter.unstructure(email), ensure_ascii=False) + "\n"
        try:
            await asyncio.to_thread(self._append, line)  # file I/O off the event loop
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot append to {self.path}: {exc}") from exc

    def read(self) -> list[Email]:
        """Every email written so far, in order (none when there is no file yet)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [self._converter.structure(json.loads(line), Email) for line in lines if line]

    def _append(self, line: str) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())


async def main() -> None:
    """Register someone with the JSONL mailer wired in; print what it wrote."""
    with tempfile.TemporaryDirectory() as folder:
        mailer = JsonlMailer(Path(folder) / "mail.jsonl")
        clock = FakeClock()
        afisha = Afisha(
            uow=InMemoryDatabase(),
            hasher=FastPasswordHasher(),
            clock=clock,
            limiter=InMemoryRateLimiter(clock),
            storage=InMemoryObjectStorage(),
            mailer=mailer,  # checked against the Mailer port by mypy
        )
        await afisha.accounts.register("ann@example.org", "ann", "Ann", "s3cret-pass")
        report = await afisha.mail.deliver_due()
        print(f"delivered: {report.sent}")
        print(mailer.path.read_text(encoding="utf-8").strip())
        (email,) = mailer.read()
        print(f"read back: to={email.to} subject={email.subject!r}")


if __name__ == "__main__":
    asyncio.run(main())
