"""The handlers of API.md: each parses, calls one use case, and renders."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from afisha_core.domain import ParticipationStatus, Role, User
from afisha_core.errors import (
    CapacityTooLow,
    EmailTaken,
    EventFinished,
    EventFull,
    EventRejected,
    Forbidden,
    InvalidCode,
    InvalidCredentials,
    NotFound,
    RateLimited,
    RecoveryTokenInvalid,
    RegistrationNotFound,
    SystemUserProtected,
    TooManyAttempts,
    UnsupportedMediaType,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
    WrongCurrentPassword,
)
from afisha_core.images import IMAGE_TYPES
from afisha_core.usecases import UNSET, EventDraft, EventPatch, Principal
from afisha_starlette import schemas as s
from afisha_starlette.calendar import event_calendar
from afisha_starlette.endpoints import Endpoint, QueryParam
from afisha_starlette.http import (
    bearer_token,
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
from afisha_starlette.problems import JsonResponse
from afisha_starlette.runtime import Runtime

__all__ = ["API_ENDPOINTS"]


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _json(runtime: Runtime, value: Any, status: int = 200) -> JSONResponse:
    return JsonResponse(runtime.converter.unstructure(value), status_code=status)


def _client(request: Request) -> tuple[str, str | None]:
    agent = request.headers.get("user-agent", "")
    return agent, request.client.host if request.client else None


async def _principal(request: Request) -> Principal:
    cached: Principal | None = request.scope.get("afisha.principal")
    if cached is None:
        cached = await _rt(request).afisha.sessions.authenticate(bearer_token(request))
        request.scope["afisha.principal"] = cached
    return cached


async def _viewer(request: Request) -> User | None:
    """The caller on a public endpoint: anonymous without a token, 401 for a bad one."""
    if "authorization" not in request.headers:
        return None
    return (await _principal(request)).user


async def _admin(request: Request) -> User:
    user = (await _principal(request)).user
    if not user.is_admin:
        raise Forbidden
    return user


async def _body(request: Request, cls: type[Any], *, optional: bool = False) -> Any:
    data = await read_json(request, optional=optional)
    return structure_body(_rt(request).converter, data or {}, cls)


def _login_out(result: Any) -> s.LoginOut:
    return s.LoginOut(
        token=result.token,
        session=s.SessionOut.of(result.session, result.session.uid),
        user=s.UserOut.of(result.user),
    )


def _page(runtime: Runtime, cls: type[Any], items: list[Any], cursor: str | None) -> JSONResponse:
    return _json(runtime, cls(items=items, next_cursor=cursor))


# --- accounts and sessions ---------------------------------------------------------------


async def _limit_mail_by_address(request: Request) -> None:
    """Count a request that makes the server send mail against the client address.

    The per-email limits stop mail bombing of one address; this one stops a single
    client from making the server mail any number of addresses. Past it: 429.
    """
    _agent, address = _client(request)
    if address is None:
        return
    afisha = _rt(request).afisha
    limit = afisha.settings.mail_requests_per_address
    result = await afisha.limiter.hit(
        f"mail-requests:address:{address}", limit=limit.count, window=limit.window
    )
    if not result.allowed:
        raise RateLimited(result.retry_after, "Too many requests that send mail; try again later.")


async def register(request: Request) -> Response:
    body: s.RegistrationIn = await _body(request, s.RegistrationIn)
    await _limit_mail_by_address(request)
    token = await _rt(request).afisha.accounts.register(
        body.email, body.username, body.full_name, body.password
    )
    return _json(_rt(request), s.RegistrationAccepted(registration_token=token), 202)


async def confirm_registration(request: Request) -> Response:
    body: s.ConfirmIn = await _body(request, s.ConfirmIn)
    agent, address = _client(request)
    result = await _rt(request).afisha.accounts.confirm(
        request.path_params["registration_token"],
        body.code,
        user_agent=agent,
        client_address=address,
    )
    return _json(_rt(request), _login_out(result), 201)


async def login(request: Request) -> Response:
    body: s.LoginIn = await _body(request, s.LoginIn)
    agent, address = _client(request)
    result = await _rt(request).afisha.sessions.login(
        body.login, body.password, user_agent=agent, client_address=address
    )
    return _json(_rt(request), _login_out(result), 201)


async def list_sessions(request: Request) -> Response:
    principal = await _principal(request)
    page = await _rt(request).afisha.sessions.list_sessions(
        principal.user, limit=query_limit(request), cursor=query_cursor(request)
    )
    items = [s.SessionOut.of(x, principal.session.uid) for x in page.items]
    return _page(_rt(request), s.SessionList, items, page.next_cursor)


async def logout(request: Request) -> Response:
    await _rt(request).afisha.sessions.logout(await _principal(request))
    return Response(status_code=204)


async def revoke_session(request: Request) -> Response:
    principal = await _principal(request)
    await _rt(request).afisha.sessions.revoke(principal.user, path_uuid(request, "uid"))
    return Response(status_code=204)


async def request_password_recovery(request: Request) -> Response:
    body: s.RecoveryIn = await _body(request, s.RecoveryIn)
    await _limit_mail_by_address(request)
    await _rt(request).afisha.recovery.request(body.email)
    return Response(status_code=202)


async def complete_password_recovery(request: Request) -> Response:
    body: s.RecoveryCompleteIn = await _body(request, s.RecoveryCompleteIn)
    await _rt(request).afisha.recovery.complete(
        request.path_params["recovery_token"], body.password
    )
    return Response(status_code=204)


async def get_me(request: Request) -> Response:
    principal = await _principal(request)
    user = await _rt(request).afisha.accounts.get_me(principal.user)
    return _json(_rt(request), s.UserOut.of(user))


async def update_me(request: Request) -> Response:
    principal = await _principal(request)
    body: s.ProfilePatchIn = await _body(request, s.ProfilePatchIn)
    user = await _rt(request).afisha.accounts.update_profile(
        principal.user, full_name=body.full_name, username=body.username
    )
    return _json(_rt(request), s.UserOut.of(user))


async def change_password(request: Request) -> Response:
    principal = await _principal(request)
    body: s.PasswordChangeIn = await _body(request, s.PasswordChangeIn)
    await _rt(request).afisha.accounts.change_password(
        principal, body.current_password, body.new_password
    )
    return Response(status_code=204)


async def delete_me(request: Request) -> Response:
    principal = await _principal(request)
    body: s.PasswordIn = await _body(request, s.PasswordIn)
    await _rt(request).afisha.accounts.delete_me(principal, body.password)
    return Response(status_code=204)


async def list_users(request: Request) -> Response:
    admin = await _admin(request)
    page = await _rt(request).afisha.accounts.list_users(
        admin,
        text=query_text(request, "q"),
        role=query_enum(request, "role", Role),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.UserOut.of(u) for u in page.items]
    return _page(_rt(request), s.UserList, items, page.next_cursor)


async def set_user_role(request: Request) -> Response:
    admin = await _admin(request)
    body: s.RolePatchIn = await _body(request, s.RolePatchIn)
    user = await _rt(request).afisha.accounts.change_role(
        admin, path_uuid(request, "user_id"), body.role
    )
    return _json(_rt(request), s.UserOut.of(user))


async def delete_user(request: Request) -> Response:
    admin = await _admin(request)
    await _rt(request).afisha.accounts.delete_user(admin, path_uuid(request, "user_id"))
    return Response(status_code=204)


# --- events --------------------------------------------------------------------------------


def _event(request: Request, view: Any, status: int = 200) -> JSONResponse:
    runtime = _rt(request)
    return _json(runtime, s.EventOut.of(view, runtime.afisha.storage), status)


async def list_events(request: Request) -> Response:
    viewer = await _viewer(request)
    page = await _rt(request).afisha.events.list_events(
        viewer,
        starts_from=query_datetime(request, "from"),
        starts_before=query_datetime(request, "to"),
        text=query_text(request, "q"),
        include_rejected=query_bool(request, "include_rejected"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    storage = _rt(request).afisha.storage
    items = [s.EventOut.of(v, storage) for v in page.items]
    return _page(_rt(request), s.EventList, items, page.next_cursor)


async def get_event(request: Request) -> Response:
    viewer = await _viewer(request)
    view = await _rt(request).afisha.events.get(viewer, path_uuid(request, "event_id"))
    return _event(request, view)


async def create_event(request: Request) -> Response:
    admin = await _admin(request)
    # The core's own draft is the request body: one definition of an event's fields.
    draft: EventDraft = await _body(request, EventDraft)
    view = await _rt(request).afisha.events.create(admin, draft)
    return _event(request, view, 201)


_PATCHABLE = {f.name: f.type for f in attrs.fields(s.EventPatchIn)}
_NOT_NULL = {"name", "starts_at", "ends_at", "short_description", "description", "timezone",
             "location", "payment_info"}  # fmt: skip


async def update_event(request: Request) -> Response:
    admin = await _admin(request)
    data = await read_json(request) or {}
    body: s.EventPatchIn = structure_body(_rt(request).converter, data, s.EventPatchIn)
    nulls = [k for k in data if k in _NOT_NULL and data[k] is None]
    if nulls:
        raise ValidationFailed.single(nulls[0], "must not be null")
    changes = {k: getattr(body, k) for k in data if k in _PATCHABLE}
    patch = EventPatch(**{k: changes.get(k, UNSET) for k in _PATCHABLE})
    view = await _rt(request).afisha.events.update(admin, path_uuid(request, "event_id"), patch)
    return _event(request, view)


async def cancel_event(request: Request) -> Response:
    admin = await _admin(request)
    body: s.RejectIn = await _body(request, s.RejectIn, optional=True)
    view = await _rt(request).afisha.events.reject(
        admin, path_uuid(request, "event_id"), body.reason
    )
    return _event(request, view)


async def set_event_image(request: Request) -> Response:
    admin = await _admin(request)
    runtime = _rt(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in IMAGE_TYPES and media != "application/octet-stream":
        raise UnsupportedMediaType(
            "Send the image as image/png, image/jpeg, image/webp or application/octet-stream."
        )
    data = await read_body(request, runtime.afisha.settings.max_image_bytes)
    # application/octet-stream says nothing about the type: the content decides.
    declared = media if media in IMAGE_TYPES else None
    view = await runtime.afisha.events.set_image(
        admin, path_uuid(request, "event_id"), data, declared
    )
    return _event(request, view)


async def get_event_calendar(request: Request) -> Response:
    viewer = await _viewer(request)
    runtime = _rt(request)
    view = await runtime.afisha.events.get(viewer, path_uuid(request, "event_id"))
    body = event_calendar(
        view.event, runtime.afisha.settings, event_url=runtime.event_url(view.event.id)
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="event-{view.event.id}.ics"'},
    )


async def join_event(request: Request) -> Response:
    principal = await _principal(request)
    body: s.ParticipationIn = await _body(request, s.ParticipationIn, optional=True)
    view = await _rt(request).afisha.participation.join(
        principal.user, path_uuid(request, "event_id"), waitlist=body.waitlist
    )
    return _event(request, view)


async def leave_event(request: Request) -> Response:
    principal = await _principal(request)
    view = await _rt(request).afisha.participation.leave(
        principal.user, path_uuid(request, "event_id")
    )
    return _event(request, view)


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


async def _participants_csv(request: Request) -> Response:
    """Every matching participant as CSV, streamed page by page (not one page)."""
    admin = await _admin(request)
    afisha = _rt(request).afisha
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


async def list_participants(request: Request) -> Response:
    if _wants_csv(request):
        return await _participants_csv(request)
    admin = await _admin(request)
    page = await _rt(request).afisha.events.list_participants(
        admin,
        path_uuid(request, "event_id"),
        status=query_enum(request, "status", ParticipationStatus),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.ParticipantOut.of(p) for p in page.items]
    return _page(_rt(request), s.ParticipantList, items, page.next_cursor)


async def export_participants_csv(request: Request) -> Response:
    return await _participants_csv(request)


async def list_my_events(request: Request) -> Response:
    principal = await _principal(request)
    page = await _rt(request).afisha.events.list_my_events(
        principal.user,
        status=query_enum(request, "status", ParticipationStatus),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    storage = _rt(request).afisha.storage
    items = [s.EventOut.of(v, storage) for v in page.items]
    return _page(_rt(request), s.EventList, items, page.next_cursor)


# --- notifications ---------------------------------------------------------------------


async def list_notifications(request: Request) -> Response:
    principal = await _principal(request)
    page = await _rt(request).afisha.notifications.list_notifications(
        principal.user,
        unacked_only=query_bool(request, "unacked"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.NotificationOut.of(n) for n in page.items]
    return _page(_rt(request), s.NotificationList, items, page.next_cursor)


async def ack_notification(request: Request) -> Response:
    principal = await _principal(request)
    n = await _rt(request).afisha.notifications.ack(
        principal.user, path_uuid(request, "notification_id")
    )
    return _json(_rt(request), s.NotificationOut.of(n))


async def ack_all_notifications(request: Request) -> Response:
    principal = await _principal(request)
    count = await _rt(request).afisha.notifications.ack_all(principal.user)
    return _json(_rt(request), s.AckAllOut(acked=count))


# --- the table -------------------------------------------------------------------------

_LIMIT = QueryParam(
    name="limit",
    schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    description="Page size.",
)
_CURSOR = QueryParam(
    name="cursor", schema={"type": "string"}, description="`next_cursor` of the previous page."
)
# Enums are components of the document (the response schemas name them too).
_STATUS = QueryParam(
    name="status",
    schema={"$ref": "#/components/schemas/ParticipationStatus"},
    description="Only participations with this status.",
)
_E = "events"

API_ENDPOINTS: list[Endpoint] = [
    Endpoint(method="POST", path="/v1/registrations", handler=register, tag="accounts",
             summary="Start a registration; a 6-digit code is mailed",
             body=s.RegistrationIn, response=s.RegistrationAccepted, status=202,
             errors=(EmailTaken, UsernameTaken, WeakPassword, RateLimited)),
    Endpoint(method="POST", path="/v1/registrations/{registration_token}/confirm",
             handler=confirm_registration, tag="accounts",
             summary="Confirm a registration with its code; logs the new account in",
             body=s.ConfirmIn, response=s.LoginOut, status=201,
             errors=(RegistrationNotFound, TooManyAttempts, InvalidCode)),
    Endpoint(method="POST", path="/v1/sessions", handler=login, tag="sessions",
             summary="Log in by email or username", body=s.LoginIn, response=s.LoginOut,
             status=201, errors=(InvalidCredentials, RateLimited)),
    Endpoint(method="GET", path="/v1/sessions", handler=list_sessions, tag="sessions",
             summary="List one's own sessions", access="user", response=s.SessionList,
             query=(_LIMIT, _CURSOR)),
    Endpoint(method="DELETE", path="/v1/sessions/current", handler=logout,
             tag="sessions", summary="Log out: the calling token stops working",
             access="user", status=204),
    Endpoint(method="DELETE", path="/v1/sessions/{uid}", handler=revoke_session,
             tag="sessions", summary="Revoke one of one's sessions", access="user",
             status=204, errors=(NotFound,)),
    Endpoint(method="POST", path="/v1/password-recovery", handler=request_password_recovery,
             tag="accounts", summary="Ask for a recovery link (always accepted)",
             body=s.RecoveryIn, status=202, response_media=()),
    Endpoint(method="POST", path="/v1/password-recovery/{recovery_token}",
             handler=complete_password_recovery, tag="accounts",
             summary="Set a new password with a recovery token; revokes every session",
             body=s.RecoveryCompleteIn, status=204, errors=(RecoveryTokenInvalid, WeakPassword)),
    Endpoint(method="GET", path="/v1/users/me", handler=get_me, tag="users",
             summary="The caller's account", access="user", response=s.UserOut),
    Endpoint(method="PATCH", path="/v1/users/me", handler=update_me, tag="users",
             summary="Change one's full name or username", access="user",
             body=s.ProfilePatchIn, response=s.UserOut, errors=(UsernameTaken,)),
    Endpoint(method="POST", path="/v1/users/me/password", handler=change_password,
             tag="users", summary="Change one's password; other sessions are revoked",
             access="user", body=s.PasswordChangeIn, status=204,
             errors=(WrongCurrentPassword, WeakPassword)),
    Endpoint(method="DELETE", path="/v1/users/me", handler=delete_me, tag="users",
             summary="Delete one's account (soft); all sessions are revoked",
             access="user", body=s.PasswordIn, status=204,
             errors=(WrongCurrentPassword, SystemUserProtected)),
    Endpoint(method="GET", path="/v1/users", handler=list_users, tag="users",
             summary="List users", access="admin", response=s.UserList,
             query=(QueryParam(name="q", schema={"type": "string", "maxLength": 200},
                               description="Text in email, username or full name."),
                    QueryParam(name="role", schema={"$ref": "#/components/schemas/Role"},
                               description="Only users with this role."),
                    _LIMIT, _CURSOR)),
    Endpoint(method="PATCH", path="/v1/users/{user_id}", handler=set_user_role, tag="users",
             summary="Set a user's role", access="admin", body=s.RolePatchIn,
             response=s.UserOut, errors=(NotFound, SystemUserProtected)),
    Endpoint(method="DELETE", path="/v1/users/{user_id}", handler=delete_user, tag="users",
             summary="Delete a user (soft)", access="admin", status=204,
             errors=(NotFound, SystemUserProtected)),
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
                    _LIMIT, _CURSOR),
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
    Endpoint(method="PUT", path="/v1/events/{event_id}/participation", handler=join_event,
             tag=_E, summary="Join (idempotent); with waitlist=true wait when full",
             access="user", body=s.ParticipationIn, body_required=False,
             response=s.EventOut, errors=(NotFound, EventFull, EventRejected, EventFinished)),
    Endpoint(method="DELETE", path="/v1/events/{event_id}/participation",
             handler=leave_event, tag=_E,
             summary="Leave (idempotent); the spot goes to the longest-waiting user",
             access="user", response=s.EventOut, errors=(NotFound, EventFinished)),
    Endpoint(method="GET", path="/v1/events/{event_id}/participants",
             handler=list_participants, tag=_E,
             summary="Who signed up; Accept: text/csv gives every row as CSV", access="admin",
             description="With `Accept: text/csv` the answer is CSV of every matching row "
             "(not one page); `GET .../participants.csv` is the same without negotiation.",
             response=s.ParticipantList, response_media=("application/json", "text/csv"),
             query=(_STATUS, _LIMIT, _CURSOR), errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/events/{event_id}/participants.csv",
             handler=export_participants_csv, tag=_E,
             summary="Every participant matching the filter as CSV", access="admin",
             response_media=("text/csv",), query=(_STATUS,), errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/users/me/events", handler=list_my_events, tag=_E,
             summary="Events the caller participates in or waits for", access="user",
             response=s.EventList, query=(_STATUS, _LIMIT, _CURSOR)),
    Endpoint(method="GET", path="/v1/notifications", handler=list_notifications,
             tag="notifications", summary="One's notifications, newest first",
             access="user", response=s.NotificationList,
             query=(QueryParam(name="unacked", schema={"type": "boolean"},
                               description="Only those not yet acknowledged."),
                    _LIMIT, _CURSOR)),
    Endpoint(method="POST", path="/v1/notifications/{notification_id}/ack",
             handler=ack_notification, tag="notifications",
             summary="Mark a notification as read", access="user",
             response=s.NotificationOut, errors=(NotFound,)),
    Endpoint(method="POST", path="/v1/notifications/ack-all", handler=ack_all_notifications,
             tag="notifications", summary="Mark every notification as read", access="user",
             response=s.AckAllOut),
]  # fmt: skip
