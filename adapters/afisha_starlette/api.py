"""The handlers of API.md: each parses, calls one use case, and renders."""

from __future__ import annotations

import csv
import io
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from afisha_core.domain import AuditAction, ParticipationStatus, Role, User
from afisha_core.errors import (
    Forbidden,
    TotpSetupRequired,
    UnsupportedMediaType,
    ValidationFailed,
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
    query_uuid,
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
    if _rt(request).afisha.settings.require_admin_totp and not user.totp_enabled:
        raise TotpSetupRequired
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


async def register(request: Request) -> Response:
    body: s.RegistrationIn = await _body(request, s.RegistrationIn)
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
        body.login,
        body.password,
        totp_code=body.totp_code,
        user_agent=agent,
        client_address=address,
    )
    return _json(_rt(request), _login_out(result), 201)


async def list_sessions(request: Request) -> Response:
    principal = await _principal(request)
    sessions = await _rt(request).afisha.sessions.list_sessions(principal.user)
    items = [s.SessionOut.of(x, principal.session.uid) for x in sessions]
    return _page(_rt(request), s.SessionList, items, None)


async def delete_current_session(request: Request) -> Response:
    await _rt(request).afisha.sessions.logout(await _principal(request))
    return Response(status_code=204)


async def delete_session(request: Request) -> Response:
    principal = await _principal(request)
    await _rt(request).afisha.sessions.revoke(
        principal.user, path_uuid(request, "uid"), client_address=_client(request)[1]
    )
    return Response(status_code=204)


async def request_recovery(request: Request) -> Response:
    body: s.RecoveryIn = await _body(request, s.RecoveryIn)
    await _rt(request).afisha.recovery.request(body.email)
    return Response(status_code=202)


async def complete_recovery(request: Request) -> Response:
    body: s.RecoveryCompleteIn = await _body(request, s.RecoveryCompleteIn)
    await _rt(request).afisha.recovery.complete(
        request.path_params["recovery_token"], body.password, client_address=_client(request)[1]
    )
    return Response(status_code=204)


async def get_me(request: Request) -> Response:
    principal = await _principal(request)
    user = await _rt(request).afisha.accounts.get_me(principal.user)
    return _json(_rt(request), s.UserOut.of(user))


async def patch_me(request: Request) -> Response:
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
        principal, body.current_password, body.new_password, client_address=_client(request)[1]
    )
    return Response(status_code=204)


async def delete_me(request: Request) -> Response:
    principal = await _principal(request)
    body: s.PasswordIn = await _body(request, s.PasswordIn)
    await _rt(request).afisha.accounts.delete_me(
        principal, body.password, client_address=_client(request)[1]
    )
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


async def patch_user(request: Request) -> Response:
    admin = await _admin(request)
    body: s.RolePatchIn = await _body(request, s.RolePatchIn)
    user = await _rt(request).afisha.accounts.change_role(
        admin, path_uuid(request, "user_id"), body.role, client_address=_client(request)[1]
    )
    return _json(_rt(request), s.UserOut.of(user))


async def delete_user(request: Request) -> Response:
    admin = await _admin(request)
    await _rt(request).afisha.accounts.delete_user(
        admin, path_uuid(request, "user_id"), client_address=_client(request)[1]
    )
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
    view = await _rt(request).afisha.events.create(admin, draft, client_address=_client(request)[1])
    return _event(request, view, 201)


_PATCHABLE = {f.name: f.type for f in attrs.fields(s.EventPatchIn)}
_NOT_NULL = {"name", "starts_at", "ends_at", "short_description", "description", "timezone",
             "location", "payment_info"}  # fmt: skip


async def patch_event(request: Request) -> Response:
    admin = await _admin(request)
    data = await read_json(request) or {}
    body: s.EventPatchIn = structure_body(_rt(request).converter, data, s.EventPatchIn)
    nulls = [k for k in data if k in _NOT_NULL and data[k] is None]
    if nulls:
        raise ValidationFailed.single(nulls[0], "must not be null")
    changes = {k: getattr(body, k) for k in data if k in _PATCHABLE}
    patch = EventPatch(**{k: changes.get(k, UNSET) for k in _PATCHABLE})
    view = await _rt(request).afisha.events.update(
        admin, path_uuid(request, "event_id"), patch, client_address=_client(request)[1]
    )
    return _event(request, view)


async def reject_event(request: Request) -> Response:
    admin = await _admin(request)
    body: s.RejectIn = await _body(request, s.RejectIn, optional=True)
    view = await _rt(request).afisha.events.reject(
        admin, path_uuid(request, "event_id"), body.reason, client_address=_client(request)[1]
    )
    return _event(request, view)


async def put_event_image(request: Request) -> Response:
    admin = await _admin(request)
    runtime = _rt(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in IMAGE_TYPES:
        raise UnsupportedMediaType("Send the image as image/png, image/jpeg or image/webp.")
    data = await read_body(request, runtime.afisha.settings.max_image_bytes)
    view = await runtime.afisha.events.set_image(
        admin, path_uuid(request, "event_id"), data, media, client_address=_client(request)[1]
    )
    return _event(request, view)


async def event_calendar_file(request: Request) -> Response:
    viewer = await _viewer(request)
    runtime = _rt(request)
    view = await runtime.afisha.events.get(viewer, path_uuid(request, "event_id"))
    body = event_calendar(view.event, runtime.afisha.settings)
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


async def list_participants(request: Request) -> Response:
    admin = await _admin(request)
    page = await _rt(request).afisha.events.list_participants(
        admin,
        path_uuid(request, "event_id"),
        status=query_enum(request, "status", ParticipationStatus),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.ParticipantOut.of(p) for p in page.items]
    if _wants_csv(request):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["user_id", "email", "username", "full_name", "status", "created_at",
                         "reminder_queued_at"])  # fmt: skip
        for item in items:
            writer.writerow([
                item.user.id, _cell(item.user.email), _cell(item.user.username),
                _cell(item.user.full_name), item.status.value, item.created_at.isoformat(),
                item.reminder_queued_at.isoformat() if item.reminder_queued_at else "",
            ])  # fmt: skip
        headers = {"Link": f'<?cursor={page.next_cursor}>; rel="next"'} if page.next_cursor else {}
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    return _page(_rt(request), s.ParticipantList, items, page.next_cursor)


async def my_events(request: Request) -> Response:
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


# --- two-factor login, the audit log, personal data -------------------------------------


async def totp_enrol(request: Request) -> Response:
    principal = await _principal(request)
    body: s.PasswordIn = await _body(request, s.PasswordIn)
    enrolment = await _rt(request).afisha.totp.enrol(
        principal, body.password, client_address=_client(request)[1]
    )
    out = s.TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)
    return _json(_rt(request), out, 201)


async def totp_confirm(request: Request) -> Response:
    principal = await _principal(request)
    body: s.TotpCodeIn = await _body(request, s.TotpCodeIn)
    codes = await _rt(request).afisha.totp.confirm(
        principal, body.code, client_address=_client(request)[1]
    )
    return _json(_rt(request), s.RecoveryCodesOut(recovery_codes=codes))


async def totp_disable(request: Request) -> Response:
    principal = await _principal(request)
    body: s.TotpDisableIn = await _body(request, s.TotpDisableIn)
    await _rt(request).afisha.totp.disable(
        principal, body.password, body.code, client_address=_client(request)[1]
    )
    return Response(status_code=204)


async def list_audit_log(request: Request) -> Response:
    admin = await _admin(request)
    page = await _rt(request).afisha.audit.list_entries(
        admin,
        actor_id=query_uuid(request, "actor_id"),
        action=query_enum(request, "action", AuditAction),
        target_id=query_uuid(request, "target_id"),
        starts_from=query_datetime(request, "from"),
        starts_before=query_datetime(request, "to"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.AuditEntryOut.of(e) for e in page.items]
    return _page(_rt(request), s.AuditList, items, page.next_cursor)


async def export_me(request: Request) -> Response:
    principal = await _principal(request)
    data = await _rt(request).afisha.personal_data.export(principal.user)
    response = _json(_rt(request), s.ExportOut.of(data))
    response.headers["Content-Disposition"] = 'attachment; filename="afisha-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the table -------------------------------------------------------------------------

_LIMIT = QueryParam(
    name="limit",
    schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    description="Page size.",
)
_CURSOR = QueryParam(
    name="cursor", schema={"type": "string"}, description="`next_cursor` of the previous page."
)
_STATUS = QueryParam(
    name="status", schema={"type": "string", "enum": [p.value for p in ParticipationStatus]}
)
_E = "events"

API_ENDPOINTS: list[Endpoint] = [
    Endpoint(method="POST", path="/v1/registrations", handler=register, tag="accounts",
             summary="Start a registration; a 6-digit code is mailed",
             body=s.RegistrationIn, response=s.RegistrationAccepted, status=202,
             errors=(409, 429)),
    Endpoint(method="POST", path="/v1/registrations/{registration_token}/confirm",
             handler=confirm_registration, tag="accounts",
             summary="Confirm a registration with its code; logs the new account in",
             body=s.ConfirmIn, response=s.LoginOut, status=201, errors=(404, 409)),
    Endpoint(method="POST", path="/v1/sessions", handler=login, tag="sessions",
             summary="Log in by email or username", body=s.LoginIn, response=s.LoginOut,
             status=201, errors=(401, 429)),
    Endpoint(method="GET", path="/v1/sessions", handler=list_sessions, tag="sessions",
             summary="List one's own sessions", access="user", response=s.SessionList),
    Endpoint(method="DELETE", path="/v1/sessions/current", handler=delete_current_session,
             tag="sessions", summary="Log out: the calling token stops working",
             access="user", status=204),
    Endpoint(method="DELETE", path="/v1/sessions/{uid}", handler=delete_session,
             tag="sessions", summary="Revoke one of one's sessions", access="user",
             status=204, errors=(404,)),
    Endpoint(method="POST", path="/v1/password-recovery", handler=request_recovery,
             tag="accounts", summary="Ask for a recovery link (always accepted)",
             body=s.RecoveryIn, status=202, response_media=()),
    Endpoint(method="POST", path="/v1/password-recovery/{recovery_token}",
             handler=complete_recovery, tag="accounts",
             summary="Set a new password with a recovery token; revokes every session",
             body=s.RecoveryCompleteIn, status=204, errors=(404,)),
    Endpoint(method="GET", path="/v1/users/me", handler=get_me, tag="users",
             summary="The caller's account", access="user", response=s.UserOut),
    Endpoint(method="PATCH", path="/v1/users/me", handler=patch_me, tag="users",
             summary="Change one's full name or username", access="user",
             body=s.ProfilePatchIn, response=s.UserOut, errors=(409,)),
    Endpoint(method="POST", path="/v1/users/me/password", handler=change_password,
             tag="users", summary="Change one's password; other sessions are revoked",
             access="user", body=s.PasswordChangeIn, status=204),
    Endpoint(method="DELETE", path="/v1/users/me", handler=delete_me, tag="users",
             summary="Delete one's account (soft); all sessions are revoked",
             access="user", body=s.PasswordIn, status=204, errors=(409,)),
    Endpoint(method="GET", path="/v1/users", handler=list_users, tag="users",
             summary="List users", access="admin", response=s.UserList,
             query=(QueryParam(name="q", schema={"type": "string"}),
                    QueryParam(name="role", schema={"type": "string",
                                                    "enum": [r.value for r in Role]}),
                    _LIMIT, _CURSOR)),
    Endpoint(method="PATCH", path="/v1/users/{user_id}", handler=patch_user, tag="users",
             summary="Set a user's role", access="admin", body=s.RolePatchIn,
             response=s.UserOut, errors=(404, 409)),
    Endpoint(method="DELETE", path="/v1/users/{user_id}", handler=delete_user, tag="users",
             summary="Delete a user (soft)", access="admin", status=204, errors=(404, 409)),
    Endpoint(method="GET", path="/v1/events", handler=list_events, tag=_E,
             summary="List events by (starts_at, id); by default not cancelled, not ended",
             response=s.EventList,
             query=(QueryParam(name="from", schema={"type": "string", "format": "date-time"},
                               description="Events that end after this instant."),
                    QueryParam(name="to", schema={"type": "string", "format": "date-time"},
                               description="Events that start before this instant."),
                    QueryParam(name="q", schema={"type": "string"},
                               description="Text in name, descriptions or location."),
                    QueryParam(name="include_rejected", schema={"type": "boolean"},
                               description="Administrators only."),
                    _LIMIT, _CURSOR),
             errors=(401, 403)),
    Endpoint(method="GET", path="/v1/events/{event_id}", handler=get_event, tag=_E,
             summary="One event", response=s.EventOut, errors=(401, 404)),
    Endpoint(method="POST", path="/v1/events", handler=create_event, tag=_E,
             summary="Publish an event", access="admin", body=EventDraft,
             response=s.EventOut, status=201),
    Endpoint(method="PATCH", path="/v1/events/{event_id}", handler=patch_event, tag=_E,
             summary="Edit an event; participants are told when time or place change",
             access="admin", body=s.EventPatchIn, response=s.EventOut, errors=(404, 409)),
    Endpoint(method="POST", path="/v1/events/{event_id}/reject", handler=reject_event,
             tag=_E, summary="Cancel an event; every participant is told",
             access="admin", body=s.RejectIn, body_required=False, response=s.EventOut,
             errors=(404,)),
    Endpoint(method="PUT", path="/v1/events/{event_id}/image", handler=put_event_image,
             tag=_E, summary="Set the event's picture (PNG, JPEG or WebP, at most 10 MiB)",
             access="admin", body=bytes, body_media=tuple(IMAGE_TYPES),
             response=s.EventOut, errors=(404,)),
    Endpoint(method="GET", path="/v1/events/{event_id}/calendar.ics",
             handler=event_calendar_file, tag=_E,
             summary="The event as an iCalendar file with a reminder alarm",
             response_media=("text/calendar",), errors=(401, 404)),
    Endpoint(method="PUT", path="/v1/events/{event_id}/participation", handler=join_event,
             tag=_E, summary="Join (idempotent); with waitlist=true wait when full",
             access="user", body=s.ParticipationIn, body_required=False,
             response=s.EventOut, errors=(404, 409)),
    Endpoint(method="DELETE", path="/v1/events/{event_id}/participation",
             handler=leave_event, tag=_E,
             summary="Leave (idempotent); the spot goes to the longest-waiting user",
             access="user", response=s.EventOut, errors=(404, 409)),
    Endpoint(method="GET", path="/v1/events/{event_id}/participants",
             handler=list_participants, tag=_E,
             summary="Who signed up; Accept: text/csv gives CSV", access="admin",
             response=s.ParticipantList, response_media=("application/json", "text/csv"),
             query=(_STATUS, _LIMIT, _CURSOR), errors=(404,)),
    Endpoint(method="GET", path="/v1/users/me/events", handler=my_events, tag=_E,
             summary="Events the caller participates in or waits for", access="user",
             response=s.EventList, query=(_STATUS, _LIMIT, _CURSOR)),
    Endpoint(method="GET", path="/v1/notifications", handler=list_notifications,
             tag="notifications", summary="One's notifications, newest first",
             access="user", response=s.NotificationList,
             query=(QueryParam(name="unacked", schema={"type": "boolean"}), _LIMIT, _CURSOR)),
    Endpoint(method="POST", path="/v1/notifications/{notification_id}/ack",
             handler=ack_notification, tag="notifications",
             summary="Mark a notification as read", access="user",
             response=s.NotificationOut, errors=(404,)),
    Endpoint(method="POST", path="/v1/notifications/ack-all", handler=ack_all_notifications,
             tag="notifications", summary="Mark every notification as read", access="user",
             response=s.AckAllOut),
    Endpoint(method="POST", path="/v1/users/me/totp", handler=totp_enrol, tag="users",
             summary="Start two-factor login (TOTP): a secret, pending until confirmed",
             access="user", body=s.PasswordIn, response=s.TotpEnrolmentOut, status=201,
             errors=(403, 409, 429)),
    Endpoint(method="POST", path="/v1/users/me/totp/confirm", handler=totp_confirm,
             tag="users", summary="Confirm TOTP with a first code; returns 10 recovery codes",
             access="user", body=s.TotpCodeIn, response=s.RecoveryCodesOut,
             errors=(403, 409, 429)),
    Endpoint(method="DELETE", path="/v1/users/me/totp", handler=totp_disable, tag="users",
             summary="Turn two-factor login off (password and a code)", access="user",
             body=s.TotpDisableIn, status=204, errors=(403, 409, 429)),
    Endpoint(method="GET", path="/v1/users/me/export", handler=export_me, tag="users",
             summary="Everything stored about the caller, as JSON", access="user",
             response=s.ExportOut),
    Endpoint(method="GET", path="/v1/audit-log", handler=list_audit_log, tag="audit",
             summary="The audit log, newest first", access="admin", response=s.AuditList,
             query=(QueryParam(name="actor_id", schema={"type": "string", "format": "uuid"}),
                    QueryParam(name="action", schema={"type": "string",
                                                      "enum": [a.value for a in AuditAction]}),
                    QueryParam(name="target_id", schema={"type": "string", "format": "uuid"}),
                    QueryParam(name="from", schema={"type": "string", "format": "date-time"},
                               description="Entries at or after this instant."),
                    QueryParam(name="to", schema={"type": "string", "format": "date-time"},
                               description="Entries before this instant."),
                    _LIMIT, _CURSOR)),
]  # fmt: skip
