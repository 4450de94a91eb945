"""Async views calling the Afisha core; its errors become problem documents."""

import json
from collections.abc import Awaitable, Callable
from functools import wraps
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse

from afisha_core.errors import AfishaError, NotAuthenticated
from afisha_core.public import to_json
from afisha_core.usecases import Principal
from afisha_events.core import get_afisha
from afisha_events.models import Note

Handler = Callable[..., Awaitable[HttpResponse]]


def problem(error: AfishaError) -> JsonResponse:
    """An RFC 9457 problem document for a domain error (its ``code`` never changes)."""
    body = {"type": f"urn:afisha:problem:{error.code}", "status": error.status,
            "detail": error.detail, "code": error.code}  # fmt: skip
    return JsonResponse(body, status=error.status, content_type="application/problem+json")


def afisha_errors(
    view: Callable[..., Awaitable[HttpResponse]],
) -> Callable[..., Awaitable[HttpResponse]]:
    """Turn the core's errors raised by ``view`` into problem documents."""

    @wraps(view)
    async def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return await view(request, *args, **kwargs)
        except AfishaError as error:
            return problem(error)

    return wrapped


async def caller(request: HttpRequest) -> Principal:
    """The Afisha session behind the request's bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated
    return await (await get_afisha()).sessions.authenticate(token.strip())


@afisha_errors
async def login(request: HttpRequest) -> HttpResponse:
    """POST {"login", "password"}: an Afisha session token."""
    body = json.loads(request.body or b"{}")
    result = await (await get_afisha()).sessions.login(
        str(body.get("login", "")), str(body.get("password", "")),
        user_agent=request.headers.get("User-Agent", ""),
    )  # fmt: skip
    return JsonResponse({"token": result.token, "user": to_json(result.user)}, status=201)


@afisha_errors
async def me(request: HttpRequest) -> HttpResponse:
    """The caller's account: the public view, never a hash."""
    return JsonResponse(to_json((await caller(request)).user))


@afisha_errors
async def events(request: HttpRequest) -> HttpResponse:
    """Upcoming events, as the caller sees them."""
    viewer = (await caller(request)).user if "Authorization" in request.headers else None
    page = await (await get_afisha()).events.list_events(viewer)
    return JsonResponse({"items": [to_json(view) for view in page.items]})


@afisha_errors
async def join(request: HttpRequest, event_id: UUID) -> HttpResponse:
    """Take a spot (POST)."""
    principal = await caller(request)
    view = await (await get_afisha()).participation.join(principal.user, event_id)
    return JsonResponse(to_json(view))


@afisha_errors
async def notes(request: HttpRequest) -> HttpResponse:
    """The caller's notes, kept in Django's own database (POST {"text"} adds one)."""
    principal = await caller(request)
    if request.method == "POST":
        text = str(json.loads(request.body or b"{}").get("text", ""))[:200]
        await Note.objects.acreate(afisha_user_id=principal.user.id, text=text)
    found = [n.text async for n in Note.objects.filter(afisha_user_id=principal.user.id)]
    return JsonResponse({"items": found})
