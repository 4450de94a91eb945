"""Opaque keyset-pagination cursors.

A cursor carries the ``(timestamp, id)`` key of the last item of a page (for events
``(starts_at, id)``, for users ``(created_at, id)``). It is the unpadded base64url form
of a compact JSON array ``["<RFC 3339 UTC>", "<uuid hex>"]``; clients must treat it as
opaque, and :func:`decode_cursor` trusts nothing in it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from uuid import UUID

from afisha_core.errors import ValidationFailed
from afisha_core.serialization import format_datetime, parse_datetime

__all__ = ["MAX_CURSOR_LENGTH", "decode_cursor", "encode_cursor"]

MAX_CURSOR_LENGTH = 200
"""Longer cursors are rejected before any decoding."""

_BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def encode_cursor(key: tuple[datetime, UUID]) -> str:
    """Encode a ``(timestamp, id)`` key as an opaque cursor.

    Raises :class:`ValueError` if the timestamp is naive.
    """
    moment, identifier = key
    payload = json.dumps([format_datetime(moment), identifier.hex], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Decode a cursor made by :func:`encode_cursor` back into its key (in UTC).

    Raises :class:`~afisha_core.errors.ValidationFailed` for the field ``cursor`` on any
    malformed input: too long, not base64url, not JSON, not a two-string array, a
    date-time without offset, or an invalid UUID.
    """
    if len(cursor) > MAX_CURSOR_LENGTH or _BASE64URL_RE.fullmatch(cursor) is None:
        raise _invalid()
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise _invalid() from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(isinstance(part, str) for part in payload)
    ):
        raise _invalid()
    try:
        return parse_datetime(payload[0]), UUID(payload[1])
    except ValueError:
        raise _invalid() from None


def _invalid() -> ValidationFailed:
    return ValidationFailed.single("cursor", "is not a valid cursor", code="invalid_cursor")
