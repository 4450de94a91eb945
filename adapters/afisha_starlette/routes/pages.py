"""The pages for people, outside ``/v1``: upcoming events, an event's page, the recovery form.

Each is in the reader's language: ``?lang=``, else ``Accept-Language``, else the
deployment default; the answer carries ``Content-Language``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from afisha_core.errors import NotFound, RecoveryTokenInvalid, ValidationFailed
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.language import reader_locale, texts
from afisha_starlette.pages import event_page_html, home_page_html, recovery_page_html
from afisha_starlette.parsing import path_uuid
from afisha_starlette.routes._shared import client_of
from afisha_starlette.runtime import Runtime

__all__ = ["PAGES"]


_NO_REFERRER = {"Referrer-Policy": "no-referrer"}


async def recovery_page(request: Request, rt: Runtime) -> Response:
    """The page a recovery email links to: a form that sets the new password."""
    locale = reader_locale(request, rt)
    page = recovery_page_html(locale=locale, texts=texts(rt), brand=rt.afisha.settings.brand)
    return HTMLResponse(page, headers={**_NO_REFERRER, "Content-Language": locale})


async def recovery_submit(request: Request, rt: Runtime) -> Response:
    """The form of the recovery page, posted without JavaScript: set the password."""
    locale = reader_locale(request, rt)
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    password = (fields.get("password") or [""])[0]
    token = request.path_params["recovery_token"]
    headers = {**_NO_REFERRER, "Content-Language": locale}
    try:
        await rt.afisha.recovery.complete(token, password, client_address=client_of(request)[1])
    except (ValidationFailed, RecoveryTokenInvalid) as exc:
        # The same texts as the problem documents, in the reader's language.
        message = texts(rt).gettext(locale, f"problem.{exc.code}")
        if locale == "en" or message == f"problem.{exc.code}":
            message = exc.detail
        page = recovery_page_html(
            locale=locale, texts=texts(rt), brand=rt.afisha.settings.brand, error=message
        )
        return HTMLResponse(page, status_code=exc.status, headers=headers)
    page = recovery_page_html(
        locale=locale, texts=texts(rt), brand=rt.afisha.settings.brand, done=True
    )
    return HTMLResponse(page, headers=headers)


def _html(body: str, locale: str) -> HTMLResponse:
    return HTMLResponse(body, headers={"Content-Language": locale.replace("_", "-")})


async def event_page(request: Request, rt: Runtime) -> Response:
    """The page about an event that links for people point at (a cancelled one too)."""
    view = await rt.afisha.events.get(None, path_uuid(request, "event_id"))
    calendar_url = f"{request.scope.get('root_path', '')}/v1/events/{view.event.id}/calendar.ics"
    locale = reader_locale(request, rt)
    page = event_page_html(
        view,
        calendar_url=calendar_url,
        locale=locale,
        texts=texts(rt),
        brand=rt.afisha.settings.brand,
    )
    return _html(page, locale)


async def home_page(request: Request, rt: Runtime) -> Response:
    """The front page: the upcoming events, each linking to its page."""
    events = await rt.afisha.events.list_events(None, limit=50)
    locale = reader_locale(request, rt)
    page = home_page_html(
        events.items,
        event_url=f"{request.scope.get('root_path', '')}/events/",
        locale=locale,
        texts=texts(rt),
        brand=rt.afisha.settings.brand,
    )
    return _html(page, locale)


PAGES: list[Endpoint] = [
    Endpoint(method="GET", path="/", handler=home_page, tag="pages",
             summary="The front page: upcoming events (HTML, in the reader's language)",
             response_media=("text/html",)),
    Endpoint(method="GET", path="/password-recovery/{recovery_token}", handler=recovery_page,
             tag="pages", summary="The page recovery emails link to (HTML form)",
             response_media=("text/html",)),
    Endpoint(method="POST", path="/password-recovery/{recovery_token}", handler=recovery_submit,
             tag="pages", summary="The recovery form posted without JavaScript (HTML answer)",
             response_media=("text/html",),
             # The form again with what went wrong: an unusable link, or a weak password.
             other_statuses=(RecoveryTokenInvalid.status, ValidationFailed.status)),
    Endpoint(method="GET", path="/events/{event_id}", handler=event_page, tag="pages",
             summary="The page about an event (HTML; a cancelled one says so)",
             response_media=("text/html",), errors=(NotFound,)),
]  # fmt: skip
