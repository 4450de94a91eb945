"""One's in-app notifications."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from afisha_core.errors import (
    NotFound,
)
from afisha_starlette import schemas as s
from afisha_starlette.endpoints import Endpoint, QueryParam
from afisha_starlette.parsing import (
    path_uuid,
    query_bool,
    query_cursor,
    query_limit,
)
from afisha_starlette.routes._shared import (
    CURSOR,
    LIMIT,
    page_of,
    principal_of,
    render,
)
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]


async def list_notifications(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    page = await rt.afisha.notifications.list_notifications(
        principal.user,
        unacked_only=query_bool(request, "unacked"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.NotificationOut.of(n) for n in page.items]
    return page_of(rt, s.NotificationList, items, page.next_cursor)


async def ack_notification(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    n = await rt.afisha.notifications.ack(principal.user, path_uuid(request, "notification_id"))
    return render(rt, s.NotificationOut.of(n))


async def ack_all_notifications(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    count = await rt.afisha.notifications.ack_all(principal.user)
    return render(rt, s.AckAllOut(acked=count))


ENDPOINTS: list[Endpoint] = [
    Endpoint(method="GET", path="/v1/notifications", handler=list_notifications,
             tag="notifications", summary="One's notifications, newest first",
             access="user", response=s.NotificationList,
             query=(QueryParam(name="unacked", schema={"type": "boolean"},
                               description="Only those not yet acknowledged."),
                    LIMIT, CURSOR)),
    Endpoint(method="POST", path="/v1/notifications/{notification_id}/ack",
             handler=ack_notification, tag="notifications",
             summary="Mark a notification as read", access="user",
             response=s.NotificationOut, errors=(NotFound,)),
    Endpoint(method="POST", path="/v1/notifications/ack-all", handler=ack_all_notifications,
             tag="notifications", summary="Mark every notification as read", access="user",
             response=s.AckAllOut),
]  # fmt: skip
