"""The contract every :class:`~afisha_core.ports.Mailer` adapter passes."""

from __future__ import annotations

import pytest

from afisha_core.domain import Email
from afisha_core.ports import Mailer

__all__ = ["MailerContract"]


def _normalized(body: str | None) -> str | None:
    """Return ``body`` as it compares after transport: LF line ends, no trailing space."""
    if body is None:
        return None
    return body.replace("\r\n", "\n").rstrip()


def _same(received: Email, sent: Email) -> bool:
    """Tell whether ``received`` is ``sent`` after a trip through a mail server."""
    return (
        received.to == sent.to
        and received.subject == sent.subject
        and _normalized(received.text) == _normalized(sent.text)
        and _normalized(received.html) == _normalized(sent.html)
    )


class MailerContract:
    """Delivering emails intact, as :class:`~afisha_core.ports.Mailer` says.

    Subclass it in a ``Test...`` class that provides:

    - a fixture ``mailer`` returning the adapter under test (sync or async), fresh
      for each test;
    - ``async def received(self)``, returning every email that arrived through that
      mailer during the test, in order, as :class:`~afisha_core.domain.Email` values
      (a recording mailer returns what it recorded; an SMTP adapter parses what its
      test server received). Bodies are compared with line endings normalised and
      trailing whitespace dropped.
    """

    pytestmark = pytest.mark.asyncio

    async def received(self) -> list[Email]:
        """Every email that arrived during this test; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement received()")

    async def _assert_arrives_intact(self, mailer: Mailer, email: Email) -> None:
        await mailer.send(email)
        arrived = await self.received()
        assert len(arrived) == 1, arrived
        assert _same(arrived[0], email), (arrived[0], email)

    async def test_a_plain_message_arrives(self, mailer: Mailer) -> None:
        """A plain-text message arrives with its recipient, subject and body."""
        email = Email(
            to="ann@example.com",
            subject="Your code",
            text="Your verification code is 012345.\nIt is valid for 15 minutes.\n",
        )
        await self._assert_arrives_intact(mailer, email)
        assert (await self.received())[0].html is None

    async def test_a_message_with_an_html_alternative_arrives(self, mailer: Mailer) -> None:
        """A message with an HTML alternative arrives with both bodies."""
        email = Email(
            to="bob@example.org",
            subject="Reminder: Jazz night",
            text="Jazz night starts tomorrow at 19:00.",
            html="<p>Jazz night starts <b>tomorrow</b> at 19:00.</p>",
        )
        await self._assert_arrives_intact(mailer, email)

    async def test_utf8_subject_and_bodies_survive(self, mailer: Mailer) -> None:
        """Cyrillic in the subject and both bodies survives the trip."""
        email = Email(
            to="anya@example.ru",
            subject="Напоминание: концерт «Весна» завтра в 19:00",
            text="Привет, Аня!\nЖдём вас завтра в 19:00. Ёлки-палки, не опаздывайте.",
            html="<p>Привет, Аня!</p><p>Ждём вас <b>завтра</b> в 19:00.</p>",
        )
        await self._assert_arrives_intact(mailer, email)

    async def test_a_long_utf8_subject_survives_folding(self, mailer: Mailer) -> None:
        """A long non-ASCII subject (folded into several header lines) survives."""
        subject = "Изменение времени мероприятия: " + "очень длинное название " * 8
        email = Email(to="anya@example.ru", subject=subject.strip(), text="Время изменилось.")
        await self._assert_arrives_intact(mailer, email)

    async def test_awkward_lines_survive(self, mailer: Mailer) -> None:
        """Lines that SMTP and mbox treat specially, and very long lines, survive."""
        # A lone dot ends an SMTP message unless escaped, "From " lines get mangled by
        # mbox tools, and lines over 998 characters must be encoded to be legal.
        text = "\n".join(
            [
                "First line",
                ".",
                ".starts with a dot",
                "From the organisers: see you there",
                "https://example.com/events/" + "x" * 1200,
                "Last line",
            ]
        )
        email = Email(to="carl@example.com", subject="Awkward lines", text=text)
        await self._assert_arrives_intact(mailer, email)

    async def test_several_messages_each_arrive_once(self, mailer: Mailer) -> None:
        """Each of several messages arrives exactly once."""
        emails = [
            Email(to=f"user{i}@example.com", subject=f"Message {i}", text=f"Body {i}")
            for i in range(3)
        ]
        for email in emails:
            await mailer.send(email)

        arrived = await self.received()

        assert len(arrived) == len(emails)
        for email in emails:
            assert sum(_same(got, email) for got in arrived) == 1, email
