"""The embedded Mailer: each email becomes an ``.eml`` file in a folder."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import tempfile
import uuid
from pathlib import Path

from afisha_core.clock import SystemClock
from afisha_core.domain import Email
from afisha_core.errors import TemporaryDeliveryError
from afisha_core.ports import Clock
from afisha_smtp._errors import MailerUnavailable
from afisha_smtp._message import DEFAULT_MAIL_FROM, ComposedMessage, parse_mail_from

__all__ = ["DEFAULT_OUTBOX_DIR", "EmlFileMailer"]

logger = logging.getLogger("afisha_smtp")

#: Where the embedded deployment writes its mail when ``AFISHA_SMTP_URL`` is unset.
DEFAULT_OUTBOX_DIR = Path("afisha-data/outbox")


def _write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` so that readers see all of it or nothing."""
    directory.mkdir(parents=True, exist_ok=True)
    # A hidden temporary in the same folder (so the rename cannot cross file systems),
    # readable by its owner only: emails carry codes and recovery links.
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".eml.tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        final = directory / name
        Path(temporary).replace(final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return final


class EmlFileMailer:
    """A :class:`~afisha_core.ports.Mailer` that writes each email as an ``.eml`` file.

    The embedded default (``AFISHA_SMTP_URL`` unset): nothing leaves the machine, and
    any mail client opens the files. Each file holds exactly the bytes an
    :class:`~afisha_smtp.SmtpMailer` would send (same MIME, headers and encodings),
    under a name that sorts by time of writing:
    ``20300101T090000.000000Z-000001-1a2b3c4d.eml`` (UTC time, a per-mailer sequence
    number, a random suffix so several processes never collide). Files appear
    atomically (a temporary file renamed into place) with owner-only permissions.
    Each send logs one line at INFO on the ``afisha_smtp`` logger with the recipient,
    the subject and the file, never the text (it holds codes and links with tokens).

    A file that cannot be written raises
    :class:`~afisha_core.errors.TemporaryDeliveryError` (the outbox retries), an
    unaddressable recipient :class:`~afisha_core.errors.PermanentDeliveryError`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] = DEFAULT_OUTBOX_DIR,
        *,
        mail_from: str = DEFAULT_MAIL_FROM,
        clock: Clock | None = None,
    ) -> None:
        self._directory = Path(directory)
        self._sender = parse_mail_from(mail_from)
        self._clock: Clock = clock or SystemClock()
        self._sequence = itertools.count(1)

    def __repr__(self) -> str:
        return f"EmlFileMailer({str(self._directory)!r}, mail_from={str(self._sender)!r})"

    @property
    def directory(self) -> Path:
        """The folder the ``.eml`` files go to."""
        return self._directory

    @property
    def mail_from(self) -> str:
        """The From header, as written (``Afisha <no-reply@localhost>``)."""
        return str(self._sender)

    async def send(self, email: Email) -> None:
        """Write ``email`` as a new ``.eml`` file; return once it is complete on disk.

        Raises :class:`~afisha_core.errors.TemporaryDeliveryError` when the file cannot
        be written, :class:`~afisha_core.errors.PermanentDeliveryError` when the
        recipient cannot be addressed.
        """
        now = self._clock.now()
        composed = ComposedMessage.compose(email, sender=self._sender, now=now)
        name = f"{now:%Y%m%dT%H%M%S.%fZ}-{next(self._sequence):06d}-{uuid.uuid4().hex[:8]}.eml"
        try:
            path = await asyncio.to_thread(_write_atomically, self._directory, name, composed.data)
        except OSError as exc:
            raise TemporaryDeliveryError(
                f"cannot write the email to {composed.recipient} into {self._directory}: {exc}"
            ) from exc
        # The text holds verification codes and links with tokens: only the file has it.
        logger.info(
            "mail to %s, subject %r, written to %s", composed.recipient, email.subject, path
        )

    async def ping(self) -> None:
        """Check that the folder exists (creating it) and is writable.

        Raises :class:`~afisha_smtp.MailerUnavailable` (a
        :class:`~afisha_core.errors.ServiceUnavailable`) when it is not.
        """
        try:
            await asyncio.to_thread(self._check_writable)
        except OSError as exc:
            raise MailerUnavailable(
                f"The mail folder {self._directory} is unusable: {exc}"
            ) from exc

    def _check_writable(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self._directory):
            pass
