"""What the HTTP handlers need at run time, built by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import attrs
import cattrs

from afisha_core.app import Afisha
from afisha_core.serialization import make_converter
from afisha_starlette.metrics import Backlog

__all__ = ["Check", "Runtime"]

#: A readiness check: returns when the service answers, raises when it does not.
Check = Callable[[], Awaitable[None]]


@attrs.define(kw_only=True)
class Runtime:
    """The core and its adapters as the server uses them.

    ``checks`` name each backing service for ``/readyz``; ``serve_media`` says
    whether the app itself serves ``/media/...`` (storage on local files);
    ``closers`` run on shutdown, last first. ``event_url_template`` is
    ``AFISHA_EVENT_URL``: the page about an event that calendar entries link to.
    ``wake_mail``, when set, is called after every successful write request, so
    mail someone waits for (a registration code) goes out at once rather than at
    the next scheduler tick. ``backlog``, when set, reads what waits for the worker
    (outbox, reminders) for ``/metrics``.
    """

    afisha: Afisha
    checks: dict[str, Check] = attrs.field(factory=dict)
    serve_media: bool = False
    closers: list[Callable[[], Awaitable[None]]] = attrs.field(factory=list)
    wake_mail: Callable[[], None] | None = None
    #: Where people see an event (calendar ``URL:``); ``{public_url}`` and ``{id}`` are filled.
    event_url_template: str = "{public_url}/events/{id}"
    backlog: Backlog | None = None
    converter: cattrs.Converter = attrs.field(
        factory=lambda: make_converter(forbid_extra_keys=True)
    )

    def event_url(self, event_id: UUID) -> str:
        """The page for people about an event (never raw JSON)."""
        return self.event_url_template.format(
            public_url=self.afisha.settings.public_url, id=event_id
        )

    async def aclose(self) -> None:
        """Close every adapter, in the reverse order of opening."""
        while self.closers:
            await self.closers.pop()()
