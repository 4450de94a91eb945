"""Events: listing, publishing, editing, cancelling, pictures, calendars, participants."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import attrs
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from afisha_core.domain import ParticipationStatus
from afisha_core.errors import (
    CapacityTooLow,
    EventRejected,
    Forbidden,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from afisha_core.images import IMAGE_TYPES
from afisha_core.usecases import UNSET, EventDraft, EventPatch
from afisha_starlette import schemas as s
from afisha_starlette.calendar import event_calendar
from afisha_starlette.endpoints import Endpoint, QueryParam
from afisha_starlette.parsing import (
    path_uuid,
    query_bool,
    query_cursor,
    query_datetime,
    query_enum,
    query_limit,
    query_text,
    read_body,
    read_json,
    structure_body,
)
from afisha_starlette.routes._shared import (
    CURSOR,
    LIMIT,
    STATUS,
    admin_of,
    client_of,
    page_of,
    parse_body,
    principal_of,
    render_event,
    viewer_of,
)
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]


async def list_events(request: Request, rt: Runtime) -> Response:
    viewer = await viewer_of(request, rt)
    page = await rt.afisha.events.list_events(
        viewer,
        starts_from=query_datetime(request, "from"),
        starts_before=query_datetime(request, "to"),
        text=query_text(request, "q"),
        include_rejected=query_bool(request, "include_rejected"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    storage = rt.afisha.storage
    items = [s.EventOut.of(v, storage) for v in page.items]
    return page_of(rt, s.EventList, items, page.next_cursor)


async def get_event(request: Request, rt: Runtime) -> Response:
    viewer = await viewer_of(request, rt)
    view = await rt.afisha.events.get(viewer, path_uuid(request, "event_id"))
    return render_event(rt, view)


async def create_event(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    # The core's own draft is the request body: one definition of an event's fields.
    draft: EventDraft = await parse_body(request, rt, EventDraft)
    view = await rt.afisha.events.create(admin, draft, client_address=client_of(request)[1])
    return render_event(rt, view, 201)


_PATCHABLE = {f.name: f.type for f in attrs.fields(s.EventPatchIn)}

_NOT_NULL = {"name", "starts_at", "ends_at", "short_description", "description", "timezone",
             "location", "payment_info"}  # fmt: skip


async def update_event(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    data = await read_json(request) or {}
    body: s.EventPatchIn = structure_body(rt.converter, data, s.EventPatchIn)
    nulls = [k for k in data if k in _NOT_NULL and data[k] is None]
    if nulls:
        raise ValidationFailed.single(nulls[0], "must not be null", code="null")
    changes = {k: getattr(body, k) for k in data if k in _PATCHABLE}
    patch = EventPatch(**{k: changes.get(k, UNSET) for k in _PATCHABLE})
    view = await rt.afisha.events.update(
        admin, path_uuid(request, "event_id"), patch, client_address=client_of(request)[1]
    )
    return render_event(rt, view)


async def cancel_event(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    body: s.RejectIn = await parse_body(request, rt, s.RejectIn, optional=True)
    view = await rt.afisha.events.reject(
        admin, path_uuid(request, "event_id"), body.reason, client_address=client_of(request)[1]
    )
    return render_event(rt, view)


async def set_event_image(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    runtime = rt
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in IMAGE_TYPES and media != "application/octet-stream":
        raise UnsupportedMediaType(
            "Send the image as image/png, image/jpeg, image/webp or application/octet-stream."
        )
    data = await read_body(request, runtime.afisha.settings.max_image_bytes)
    # application/octet-stream says nothing about the type: the content decides.
    declared = media if media in IMAGE_TYPES else None
    view = await runtime.afisha.events.set_image(
        admin, path_uuid(request, "event_id"), data, declared, client_address=client_of(request)[1]
    )
    return render_event(rt, view)


async def get_event_calendar(request: Request, rt: Runtime) -> Response:
    viewer = await viewer_of(request, rt)
    runtime = rt
    view = await runtime.afisha.events.get(viewer, path_uuid(request, "event_id"))
    body = event_calendar(
        view.event, runtime.afisha.settings, event_url=runtime.event_url(view.event.id)
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="event-{view.event.id}.ics"'},
    )


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


_CSV_HEADER = ["user_id", "email", "username", "full_name", "status", "created_at",
               "reminder_queued_at"]  # fmt: skip

_CSV_PAGE = 100


def _csv_row(item: s.ParticipantOut) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([
        item.user.id, _cell(item.user.email), _cell(item.user.username),
        _cell(item.user.full_name), item.status.value, item.created_at.isoformat(),
        item.reminder_queued_at.isoformat() if item.reminder_queued_at else "",
    ])  # fmt: skip
    return out.getvalue()


async def _participants_csv(request: Request, rt: Runtime) -> Response:
    """Every matching participant as CSV, streamed page by page (not one page)."""
    admin = await admin_of(request, rt)
    afisha = rt.afisha
    event_id = path_uuid(request, "event_id")
    status = query_enum(request, "status", ParticipationStatus)
    # The first page is read before answering, so an unknown event is still a 404.
    first = await afisha.events.list_participants(admin, event_id, status=status, limit=_CSV_PAGE)

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        csv.writer(out).writerow(_CSV_HEADER)
        yield out.getvalue()
        page = first
        while True:
            for participant in page.items:
                yield _csv_row(s.ParticipantOut.of(participant))
            if page.next_cursor is None:
                return
            page = await afisha.events.list_participants(
                admin, event_id, status=status, limit=_CSV_PAGE, cursor=page.next_cursor
            )

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="participants-{event_id}.csv"'},
    )


async def list_participants(request: Request, rt: Runtime) -> Response:
    if _wants_csv(request):
        return await _participants_csv(request, rt)
    admin = await admin_of(request, rt)
    page = await rt.afisha.events.list_participants(
        admin,
        path_uuid(request, "event_id"),
        status=query_enum(request, "status", ParticipationStatus),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.ParticipantOut.of(p) for p in page.items]
    return page_of(rt, s.ParticipantList, items, page.next_cursor)


async def export_participants_csv(request: Request, rt: Runtime) -> Response:
    return await _participants_csv(request, rt)


async def list_my_events(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    page = await rt.afisha.events.list_my_events(
        principal.user,
        status=query_enum(request, "status", ParticipationStatus),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    storage = rt.afisha.storage
    items = [s.EventOut.of(v, storage) for v in page.items]
    return page_of(rt, s.EventList, items, page.next_cursor)


_E = "events"

ENDPOINTS: list[Endpoint] = [
    Endpoint(method="GET", path="/v1/events", handler=list_events, tag=_E,
             summary="List events by (starts_at, id); by default not cancelled, not ended",
             optional_auth=True, response=s.EventList,
             query=(QueryParam(name="from", schema={"type": "string", "format": "date-time"},
                               description="Events that end after this instant."),
                    QueryParam(name="to", schema={"type": "string", "format": "date-time"},
                               description="Events that start before this instant."),
                    QueryParam(name="q", schema={"type": "string", "maxLength": 200},
                               description="Text in name, descriptions or location."),
                    QueryParam(name="include_rejected", schema={"type": "boolean"},
                               description="Administrators only."),
                    LIMIT, CURSOR),
             errors=(Forbidden,)),
    Endpoint(method="GET", path="/v1/events/{event_id}", handler=get_event, tag=_E,
             summary="One event (a cancelled one too, with its rejected_at)",
             optional_auth=True, response=s.EventOut, errors=(NotFound,)),
    Endpoint(method="POST", path="/v1/events", handler=create_event, tag=_E,
             summary="Publish an event", access="admin", body=EventDraft,
             response=s.EventOut, status=201),
    Endpoint(method="PATCH", path="/v1/events/{event_id}", handler=update_event, tag=_E,
             summary="Edit an event; participants are told when time or place change",
             access="admin", body=s.EventPatchIn, response=s.EventOut,
             errors=(NotFound, EventRejected, CapacityTooLow)),
    Endpoint(method="POST", path="/v1/events/{event_id}/reject", handler=cancel_event,
             tag=_E, summary="Cancel an event; every participant is told",
             access="admin", body=s.RejectIn, body_required=False, response=s.EventOut,
             errors=(NotFound,)),
    Endpoint(method="PUT", path="/v1/events/{event_id}/image", handler=set_event_image,
             tag=_E, summary="Set the event's picture (PNG, JPEG or WebP, at most 10 MiB)",
             description="The raw bytes of the picture. Its type is read from its content; "
             "a declared image type must match it, and `application/octet-stream` leaves "
             "the type to the content.",
             access="admin", body=bytes, body_media=(*IMAGE_TYPES, "application/octet-stream"),
             response=s.EventOut, errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/events/{event_id}/calendar.ics",
             handler=get_event_calendar, tag=_E,
             summary="The event as an iCalendar file with a reminder alarm",
             description="Anyone with the URL may fetch it (calendar apps send no token); "
             "a cancelled event answers with `STATUS:CANCELLED`.",
             optional_auth=True, response_media=("text/calendar",), errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/events/{event_id}/participants",
             handler=list_participants, tag=_E,
             summary="Who signed up; Accept: text/csv gives every row as CSV", access="admin",
             description="With `Accept: text/csv` the answer is CSV of every matching row "
             "(not one page); `GET .../participants.csv` is the same without negotiation.",
             response=s.ParticipantList, response_media=("application/json", "text/csv"),
             query=(STATUS, LIMIT, CURSOR), errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/events/{event_id}/participants.csv",
             handler=export_participants_csv, tag=_E,
             summary="Every participant matching the filter as CSV", access="admin",
             response_media=("text/csv",), query=(STATUS,), errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/users/me/events", handler=list_my_events, tag=_E,
             summary="Events the caller participates in or waits for", access="user",
             response=s.EventList, query=(STATUS, LIMIT, CURSOR)),
]  # fmt: skip
