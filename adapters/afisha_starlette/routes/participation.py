"""Joining and leaving an event."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from afisha_core.errors import (
    EventFinished,
    EventFull,
    EventRejected,
    NotFound,
)
from afisha_starlette import schemas as s
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.parsing import (
    path_uuid,
)
from afisha_starlette.routes._shared import (
    parse_body,
    principal_of,
    render_event,
)
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]


async def join_event(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.ParticipationIn = await parse_body(request, rt, s.ParticipationIn, optional=True)
    view = await rt.afisha.participation.join(
        principal.user, path_uuid(request, "event_id"), waitlist=body.waitlist
    )
    return render_event(rt, view)


async def leave_event(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    view = await rt.afisha.participation.leave(principal.user, path_uuid(request, "event_id"))
    return render_event(rt, view)


ENDPOINTS: list[Endpoint] = [
    Endpoint(method="PUT", path="/v1/events/{event_id}/participation", handler=join_event,
             tag="events", summary="Join (idempotent); with waitlist=true wait when full",
             access="user", body=s.ParticipationIn, body_required=False,
             response=s.EventOut, errors=(NotFound, EventFull, EventRejected, EventFinished)),
    Endpoint(method="DELETE", path="/v1/events/{event_id}/participation",
             handler=leave_event, tag="events",
             summary="Leave (idempotent); the spot goes to the longest-waiting user",
             access="user", response=s.EventOut, errors=(NotFound, EventFinished)),
]  # fmt: skip
