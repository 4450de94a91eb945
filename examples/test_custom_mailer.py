"""The core's Mailer contract, run against the JSONL mailer of ``custom_mailer.py``.

    pytest examples/test_custom_mailer.py

Subclass the contract, give it a fresh adapter as the ``mailer`` fixture and say what
arrived in ``received()``; every test of the suite then runs against your adapter.
Add tests of your own for what only your adapter does.
"""

# pytest checks with plain asserts (the tests/ folder has this exemption in pyproject.toml).
# ruff: noqa: S101

from __future__ import annotations

from pathlib import Path

import pytest

from afisha_core.domain import Email
from afisha_core.errors import TemporaryDeliveryError
from afisha_core.testing.contracts.mailer import MailerContract
from examples.custom_mailer import JsonlMailer


class TestJsonlMailer(MailerContract):
    """Every test of the Mailer contract, against a JSONL file of its own."""

    jsonl: JsonlMailer

    @pytest.fixture
    def mailer(self, tmp_path: Path) -> JsonlMailer:
        """A fresh mailer writing to a file of this test."""
        self.jsonl = JsonlMailer(tmp_path / "mail.jsonl")
        return self.jsonl

    async def received(self) -> list[Email]:
        """What the file holds: everything sent during the test."""
        return self.jsonl.read()


@pytest.mark.asyncio  # explicit, so the test also runs under pytest-asyncio's strict mode
async def test_a_file_that_cannot_be_written_is_a_temporary_failure(tmp_path: Path) -> None:
    """A missing folder (or a full disk) must make the outbox retry, not give up."""
    mailer = JsonlMailer(tmp_path / "no such folder" / "mail.jsonl")

    with pytest.raises(TemporaryDeliveryError, match="cannot append"):
        await mailer.send(Email(to="ann@example.org", subject="Hi", text="Hello"))

    assert mailer.read() == []
