"""The Mailer contract against SmtpMailer (a real aiosmtpd server) and EmlFileMailer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from afisha_core.domain import Email
from afisha_core.ports import Mailer
from afisha_core.testing.contracts.mailer import MailerContract
from afisha_smtp import EmlFileMailer, SmtpMailer
from tests.support.smtp_server import SmtpTestServer, email_from_bytes


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


class TestSmtpMailer(MailerContract):
    server: SmtpTestServer

    @pytest.fixture
    def mailer(self, smtp_server: SmtpTestServer) -> Mailer:
        self.server = smtp_server
        return SmtpMailer(smtp_server.host, smtp_server.port, timeout=5, connect_timeout=5)

    async def received(self) -> list[Email]:
        return self.server.received_emails()


class TestEmlFileMailer(MailerContract):
    directory: Path

    @pytest.fixture
    def mailer(self, tmp_path: Path) -> Mailer:
        self.directory = tmp_path / "outbox"
        return EmlFileMailer(self.directory)

    async def received(self) -> list[Email]:
        # The names sort by time of writing, then by the mailer's sequence number.
        files = sorted(self.directory.glob("*.eml"))
        return [email_from_bytes(path.read_bytes()) for path in files]
