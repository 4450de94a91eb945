"""Integrations: the personal calendar feed (a secret, subscribable URL) and webhooks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from uuid import UUID

import icalendar
from starlette.requests import Request
from starlette.responses import Response

from afisha_core.domain import Event
from afisha_core.errors import NotFound, ValidationFailed
from afisha_starlette import schemas as s
from afisha_starlette.calendar import feed_calendar
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.parsing import path_uuid, query_cursor, query_limit
from afisha_starlette.routes._shared import (
    CURSOR,
    LIMIT,
    admin_of,
    client_of,
    page_of,
    parse_body,
    principal_of,
    render,
)
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]

#: Calendar apps poll a feed every few minutes: they must revalidate each time (a 304
#: costs almost nothing), and no shared cache may keep a secret URL's answer.
_FEED_CACHE_CONTROL = "private, no-cache"


def _feed_url(rt: Runtime, token: str) -> str:
    return f"{rt.afisha.settings.public_url.rstrip('/')}/v1/calendar-feeds/{token}.ics"


async def issue_calendar_feed(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    token = await rt.afisha.calendar_feeds.issue(principal)
    response = render(rt, s.CalendarFeedOut(url=_feed_url(rt, token)), 201)
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_calendar_feed(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    await rt.afisha.calendar_feeds.revoke(principal)
    return Response(status_code=204)


def _etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` list names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    """Whether ``If-Modified-Since`` is at or after ``last_modified`` (whole seconds)."""
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def _feed_etag(rt: Runtime, events: Sequence[Event], name: str) -> str:
    """A strong validator of the feed body, computed without rendering it.

    The body is a function of the events (every change of an event moves its
    ``updated_at``), the feed's name, the reminder lead and the event links, and of
    the calendar library's output; all of those are hashed.
    """
    parts = [
        "afisha-feed-1",
        icalendar.__version__,
        name,
        str(rt.afisha.settings.reminder_lead),
        rt.event_url(UUID(int=0)),
        *(f"{e.id}|{e.updated_at.isoformat()}" for e in events),
    ]
    return '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32] + '"'


async def get_calendar_feed(request: Request, rt: Runtime) -> Response:
    token = request.path_params["feed_token"]
    contents = await rt.afisha.calendar_feeds.read(token)
    name = f"Afisha: {contents.owner.username}"
    etag = _feed_etag(rt, contents.events, name)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(contents.last_modified.astimezone(UTC), usegmt=True),
        "Cache-Control": _FEED_CACHE_CONTROL,
        "Referrer-Policy": "no-referrer",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        fresh = _etag_matches(if_none_match, etag)
    else:
        since = request.headers.get("if-modified-since")
        fresh = since is not None and _not_modified_since(since, contents.last_modified)
    if fresh:  # answered without rendering the calendar
        return Response(status_code=304, headers=headers)
    body = feed_calendar(contents.events, rt.afisha.settings, event_url=rt.event_url, name=name)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


async def create_webhook(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    body: s.WebhookIn = await parse_body(request, rt, s.WebhookIn)
    webhook = await rt.afisha.webhooks.create(
        admin, body.url, body.events, body.description, client_address=client_of(request)[1]
    )
    response = render(rt, s.WebhookCreatedOut.of(webhook), 201)
    response.headers["Cache-Control"] = "no-store"
    return response


async def list_webhooks(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    page = await rt.afisha.webhooks.list(
        admin, limit=query_limit(request), cursor=query_cursor(request)
    )
    items = [s.WebhookOut.of(w) for w in page.items]
    return page_of(rt, s.WebhookList, items, page.next_cursor)


async def delete_webhook(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    await rt.afisha.webhooks.delete(
        admin, path_uuid(request, "webhook_id"), client_address=client_of(request)[1]
    )
    return Response(status_code=204)


async def list_webhook_deliveries(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    page = await rt.afisha.webhooks.list_deliveries(
        admin,
        path_uuid(request, "webhook_id"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.WebhookDeliveryOut.of(d) for d in page.items]
    return page_of(rt, s.WebhookDeliveryList, items, page.next_cursor)


ENDPOINTS: list[Endpoint] = [
    Endpoint(method="POST", path="/v1/users/me/calendar-feed", handler=issue_calendar_feed,
             tag="users", summary="A secret calendar feed URL of one's sign-ups (rotates it)",
             description="The URL (also usable as `webcal://`) serves every event the caller "
             "is participating or waitlisted in; calling again rotates it (the old URL stops "
             "working). Only a hash of its token is stored.",
             access="user", response=s.CalendarFeedOut, status=201),
    Endpoint(method="DELETE", path="/v1/users/me/calendar-feed", handler=revoke_calendar_feed,
             tag="users", summary="Revoke one's calendar feed URL", access="user", status=204),
    Endpoint(method="GET", path="/v1/calendar-feeds/{feed_token}.ics", handler=get_calendar_feed,
             tag="users", summary="A personal calendar feed (iCalendar)",
             description="Anyone with the URL may fetch it. Every event the owner is "
             "participating or waitlisted in, from 30 days back; cancelled ones stay with "
             "`STATUS:CANCELLED`. Answers carry `ETag` and `Last-Modified`; a conditional "
             "request for an unchanged feed gets 304.",
             response_media=("text/calendar",), errors=(NotFound,)),
    Endpoint(method="POST", path="/v1/webhooks", handler=create_webhook, tag="webhooks",
             summary="Register a webhook; its signing secret is shown only here",
             description="Deliveries follow the Standard Webhooks specification. Loopback, "
             "private and link-local destinations are refused unless the server allows them.",
             access="admin", body=s.WebhookIn, response=s.WebhookCreatedOut, status=201,
             errors=(ValidationFailed,)),
    Endpoint(method="GET", path="/v1/webhooks", handler=list_webhooks, tag="webhooks",
             summary="Webhooks, oldest first (no secrets)", access="admin",
             response=s.WebhookList, query=(LIMIT, CURSOR)),
    Endpoint(method="DELETE", path="/v1/webhooks/{webhook_id}", handler=delete_webhook,
             tag="webhooks", summary="Delete a webhook and its deliveries", access="admin",
             status=204, errors=(NotFound,)),
    Endpoint(method="GET", path="/v1/webhooks/{webhook_id}/deliveries",
             handler=list_webhook_deliveries, tag="webhooks",
             summary="A webhook's deliveries and their attempts, newest first", access="admin",
             response=s.WebhookDeliveryList, query=(LIMIT, CURSOR), errors=(NotFound,)),
]  # fmt: skip
