"""RFC 9457 problem documents for every error the server answers."""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from afisha_core.errors import (
    AfishaError,
    NotAuthenticated,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)

__all__ = [
    "PROBLEM_TYPE",
    "JsonResponse",
    "ProblemResponse",
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


class JsonResponse(JSONResponse):
    """A JSON response labelled ``application/json; charset=utf-8`` as the HTTP contract says."""

    media_type = "application/json; charset=utf-8"


class ProblemResponse(JSONResponse):
    """A JSON response with the ``application/problem+json`` media type."""

    media_type = "application/problem+json"


def _retry_after(delay: timedelta) -> str:
    return str(max(1, math.ceil(delay.total_seconds())))


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    """A problem document response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return ProblemResponse(body, status_code=status, headers=headers)


def error_response(exc: AfishaError) -> ProblemResponse:
    """The problem document of a domain error, with the headers its status needs."""
    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, NotAuthenticated) or exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="afisha"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = _retry_after(exc.retry_after)
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = _retry_after(exc.retry_after)
        logger.warning("backing service unavailable: %s: %s", exc.service, exc.detail)
    if isinstance(exc, ValidationFailed):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem(exc.status, exc.code, exc.detail, errors=errors, headers=headers)


async def handle_afisha_error(_request: Request, exc: Exception) -> Response:
    """Starlette exception handler for :class:`AfishaError`."""
    assert isinstance(exc, AfishaError)  # noqa: S101 - registered for this type only
    return error_response(exc)


async def handle_http(_request: Request, exc: Exception) -> Response:
    """Starlette exception handler for routing errors (unknown path, wrong method)."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else ""
    return problem(
        exc.status_code,
        code,
        detail or HTTPStatus(exc.status_code).description or HTTPStatus(exc.status_code).phrase,
        headers=dict(exc.headers or {}),
    )
