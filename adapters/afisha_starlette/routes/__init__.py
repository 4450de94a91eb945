"""The routes of the HTTP API, one module per area (mirroring the core's use cases).

Each module holds its handlers and its part of the route table (``ENDPOINTS``); a
handler parses the request, calls one use case and renders the answer, and is given the
:class:`~afisha_starlette.runtime.Runtime` by the table (``handler(request, runtime)``).
"""

from __future__ import annotations

from afisha_starlette.endpoints import Endpoint
from afisha_starlette.routes import (
    accounts,
    audit,
    events,
    integrations,
    notifications,
    participation,
    sessions,
)

__all__ = ["API_ENDPOINTS"]

#: Every ``/v1`` endpoint, area by area.
API_ENDPOINTS: list[Endpoint] = [
    *accounts.ENDPOINTS,
    *sessions.ENDPOINTS,
    *events.ENDPOINTS,
    *participation.ENDPOINTS,
    *notifications.ENDPOINTS,
    *audit.ENDPOINTS,
    *integrations.ENDPOINTS,
]
