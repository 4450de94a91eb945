"""Reading requests: bounded bodies, JSON into attrs classes, query parameters, auth."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import cattrs
from starlette.requests import Request

from afisha_core.errors import (
    AfishaError,
    FieldError,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from afisha_core.serialization import field_errors, parse_datetime

__all__ = [
    "MAX_JSON_BYTES",
    "BadRequest",
    "bearer_token",
    "query_bool",
    "query_datetime",
    "query_enum",
    "query_limit",
    "query_uuid",
    "read_body",
    "read_json",
    "structure_body",
]

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

MAX_JSON_BYTES = 1024 * 1024
_DIGITS = re.compile(r"[0-9]{1,12}")  # str.isdigit() would accept "²"


class BadRequest(AfishaError):
    """The body is not what the endpoint reads: malformed JSON or not an object."""

    code = "bad_request"
    status = 400
    default_detail = "The request body is malformed."


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read chunk by chunk and refused (413) past ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before anything is read.
    """
    declared = request.headers.get("content-length")
    if declared is not None and not _DIGITS.fullmatch(declared.strip()):
        raise BadRequest("The Content-Length header is not a number.")
    if declared is not None and int(declared) > limit:
        raise PayloadTooLarge(f"The body must be at most {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body must be at most {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request, *, optional: bool = False) -> dict[str, Any] | None:
    """The JSON object in the body (``None`` for an empty optional body).

    Raises 415 for a content type other than JSON, 413 past 1 MiB, and 400 for
    malformed JSON or JSON that is not an object.
    """
    body = await read_body(request, MAX_JSON_BYTES)
    if not body.strip():
        if optional:
            return None
        raise BadRequest("A JSON object body is required.")
    media = _media_type(request)
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    try:
        # JSON may escape lone surrogates ("\ud800"), which are not text.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("The body holds invalid Unicode (a lone surrogate).") from None
    return data


def structure_body(converter: cattrs.Converter, data: Mapping[str, Any], cls: type[T]) -> T:
    """Structure ``data`` into ``cls``; a mismatch is a 422 naming each field."""
    try:
        return converter.structure(dict(data), cls)
    except Exception as exc:  # cattrs raises exception groups of many kinds
        errors = field_errors(exc)
        raise ValidationFailed(errors or [FieldError("$", str(exc))]) from None


def bearer_token(request: Request) -> str:
    """The bearer token of the request; 401 when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated
    return token.strip()


def path_uuid(request: Request, name: str) -> UUID:
    """A UUID path parameter; anything else is 404 (no such resource)."""
    try:
        return UUID(str(request.path_params[name]))
    except ValueError:
        raise NotFound from None


def query_limit(request: Request) -> int:
    """``limit``: 1..100, default 20."""
    raw = request.query_params.get("limit")
    if raw is None:
        return 20
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= 100:
        raise ValidationFailed.single(
            "limit", "must be an integer from 1 to 100", code="out_of_range"
        )
    return int(raw)


def query_cursor(request: Request) -> str | None:
    """``cursor``: opaque, from a previous page's ``next_cursor``."""
    return request.query_params.get("cursor") or None


def query_datetime(request: Request, name: str) -> datetime | None:
    """An RFC 3339 datetime with an explicit offset; without one it is a 422."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_datetime(raw)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed.single(name, str(exc), code="invalid_datetime") from None


def query_bool(request: Request, name: str) -> bool:
    """``true``/``false`` (also 1/0); default false."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValidationFailed.single(name, "must be true or false", code="not_boolean")


def query_enum(request: Request, name: str, enum: type[E]) -> E | None:
    """One of the enum's values, or ``None`` when absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise ValidationFailed.single(
            name, f"must be one of {allowed}", code="not_allowed"
        ) from None


def query_text(request: Request, name: str, max_length: int = 200) -> str | None:
    """A free-text query parameter, at most ``max_length`` characters."""
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return None
    if len(raw) > max_length or "\x00" in raw:
        raise ValidationFailed.single(
            name, f"must be at most {max_length} characters", code="too_long"
        )
    return raw.strip()


def query_uuid(request: Request, name: str) -> UUID | None:
    """A UUID query parameter (a filter); anything else is a 422."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise ValidationFailed.single(name, "must be a UUID", code="invalid_uuid") from None
