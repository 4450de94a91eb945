"""The pages for people, outside ``/v1``: an event's page and the recovery form."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from afisha_core.errors import NotFound
from afisha_starlette.docs_page import (
    RECOVERY_HTML,
)
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.pages import event_page_html
from afisha_starlette.parsing import path_uuid
from afisha_starlette.runtime import Runtime

__all__ = ["PAGES"]


async def recovery_page(_request: Request, rt: Runtime) -> Response:
    """The page a recovery email links to: a form that sets the new password."""
    return HTMLResponse(RECOVERY_HTML, headers={"Referrer-Policy": "no-referrer"})


async def event_page(request: Request, rt: Runtime) -> Response:
    """The page about an event that links for people point at (a cancelled one too)."""
    runtime = rt
    view = await runtime.afisha.events.get(None, path_uuid(request, "event_id"))
    calendar_url = f"{request.scope.get('root_path', '')}/v1/events/{view.event.id}/calendar.ics"
    return HTMLResponse(event_page_html(view, calendar_url=calendar_url))


PAGES: list[Endpoint] = [
    Endpoint(method="GET", path="/password-recovery/{recovery_token}", handler=recovery_page,
             tag="pages", summary="The page recovery emails link to (HTML form)",
             response_media=("text/html",), uses_services=False),
    Endpoint(method="GET", path="/events/{event_id}", handler=event_page, tag="pages",
             summary="The page about an event (HTML; a cancelled one says so)",
             response_media=("text/html",), errors=(NotFound,)),
]  # fmt: skip
