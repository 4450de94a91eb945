"""RFC 9457 problem documents for every error the server answers."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from afisha_core.errors import (
    AfishaError,
    InvalidCode,
    NotAuthenticated,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from afisha_core.i18n import DEFAULT_LOCALE, Translator, translator


def _orjson_dumps() -> Callable[[Any], bytes] | None:
    """The encoder of orjson (the http extra installs it), or ``None`` without it."""
    try:
        import orjson  # noqa: PLC0415 - optional
    except ImportError:  # pragma: no cover - exercised where orjson is absent
        return None
    dumps: Callable[[Any], bytes] = orjson.dumps
    return dumps


_ORJSON_DUMPS = _orjson_dumps()

__all__ = [
    "PROBLEM_TYPE",
    "JsonResponse",
    "ProblemResponse",
    "caller_locale",
    "handle_afisha_error",
    "handle_http",
    "problem",
]

logger = logging.getLogger("afisha.http")

#: Each problem's ``type`` is this prefix and its ``code``.
PROBLEM_TYPE = "urn:afisha:problem:"

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def render_json(content: Any) -> bytes:
    """Compact UTF-8 JSON, as Starlette writes it; with orjson when it is installed.

    The converter has already turned every value into strings, numbers, booleans,
    ``None``, lists and dicts, which both encoders write byte for byte alike.
    """
    if _ORJSON_DUMPS is None:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")
    return _ORJSON_DUMPS(content)


class JsonResponse(JSONResponse):
    """A JSON response labelled ``application/json; charset=utf-8`` as the HTTP contract says."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        """The body (see :func:`render_json`)."""
        return render_json(content)


class ProblemResponse(JSONResponse):
    """A JSON response with the ``application/problem+json`` media type."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        """The body (see :func:`render_json`)."""
        return render_json(content)


def _retry_after(delay: timedelta) -> str:
    return str(max(1, math.ceil(delay.total_seconds())))


def caller_locale(request: Request) -> tuple[Translator, str]:
    """The catalogues and the caller's language for a problem document.

    The authenticated user's language (when the request got that far), else the best
    match of ``Accept-Language``, else the deployment default (``AFISHA_LOCALE``).
    """
    runtime = getattr(getattr(request.app, "state", None), "runtime", None)
    settings = getattr(getattr(runtime, "afisha", None), "settings", None)
    t = translator(settings.locale_dirs if settings is not None else ())
    principal = request.scope.get("afisha.principal")
    if principal is not None:
        return t, t.resolve(principal.user.locale)
    asked = t.negotiate(request.headers.get("accept-language"))
    if asked is not None:
        return t, asked
    default = settings.default_locale if settings is not None else DEFAULT_LOCALE
    return t, t.resolve(default)


def _translated(t: Translator, locale: str, msgid: str, fallback: str, **values: str) -> str:
    """The catalogue text of ``msgid``; English keeps the (more specific) ``fallback``."""
    if locale == DEFAULT_LOCALE:
        return fallback
    text = t.gettext(locale, msgid, **values)
    return fallback if text == msgid else text


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    locale: str | None = None,
) -> ProblemResponse:
    """A problem document response (``locale``: its ``Content-Language``)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    if locale is not None:
        headers = {**(headers or {}), "Content-Language": locale.replace("_", "-")}
    return ProblemResponse(body, status_code=status, headers=headers)


def error_response(exc: AfishaError, request: Request | None = None) -> ProblemResponse:
    """The problem document of a domain error, with the headers its status needs.

    With ``request``, ``detail`` and field-error messages are in the caller's language
    (:func:`caller_locale`); ``code`` never changes.
    """
    t, locale = caller_locale(request) if request is not None else (translator(), DEFAULT_LOCALE)
    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, NotAuthenticated) or exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="afisha"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = _retry_after(exc.retry_after)
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = _retry_after(exc.retry_after)
        logger.warning("backing service unavailable: %s: %s", exc.service, exc.detail)
    detail = _translated(t, locale, f"problem.{exc.code}", exc.detail)
    if isinstance(exc, InvalidCode) and locale != DEFAULT_LOCALE:
        detail = t.ngettext(locale, "problem.invalid_code.attempts_left", exc.attempts_left)
    if isinstance(exc, ValidationFailed):
        errors = [
            {
                "field": e.field,
                "code": e.code,
                "message": _translated(t, locale, f"field.{e.code}", e.message, field=e.field),
            }
            for e in exc.errors
        ]
    return problem(exc.status, exc.code, detail, errors=errors, headers=headers, locale=locale)


async def handle_afisha_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for :class:`AfishaError`."""
    assert isinstance(exc, AfishaError)  # noqa: S101 - registered for this type only
    return error_response(exc, request)


async def handle_http(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for routing errors (unknown path, wrong method)."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else ""
    t, locale = caller_locale(request)
    status = HTTPStatus(exc.status_code)
    english = detail or status.description or status.phrase
    return problem(
        exc.status_code,
        code,
        _translated(t, locale, f"problem.{code}", english),
        headers=dict(exc.headers or {}),
        locale=locale,
    )
