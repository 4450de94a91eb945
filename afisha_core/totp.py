"""Time-based one-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), stdlib only.

The core's two-factor login uses SHA-1, 6 digits and 30-second steps, which is what
authenticator apps expect from an ``otpauth://`` URI without parameters. The functions
take the other RFC 6238 variants too (SHA-256, SHA-512, 8 digits) so that they can be
checked against the RFC's own test vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from typing import Literal
from urllib.parse import quote, urlencode

__all__ = [
    "DIGITS",
    "PERIOD",
    "SECRET_BYTES",
    "Algorithm",
    "b32decode",
    "b32encode",
    "hotp",
    "new_secret",
    "otpauth_uri",
    "time_step",
    "totp",
    "verify_totp",
]

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
PERIOD = 30
"""Seconds per time step (RFC 6238's ``X``)."""
DIGITS = 6
"""Digits of a code."""
SECRET_BYTES = 20
"""The length of a new secret: 160 bits, RFC 4226's recommendation for HMAC-SHA1."""

_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def b32encode(key: bytes) -> str:
    """``key`` in unpadded upper-case base32, the form authenticator apps take."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def b32decode(secret: str) -> bytes:
    """The key of a base32 secret (case, spaces and missing padding forgiven).

    Raises ``ValueError`` for anything that is not base32.
    """
    cleaned = secret.replace(" ", "").upper()
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        return base64.b32decode(cleaned, casefold=False)
    except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
        raise ValueError("not a base32 secret") from exc


def new_secret() -> str:
    """A new random secret (160 bits), base32."""
    return b32encode(secrets.token_bytes(SECRET_BYTES))


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, algorithm: Algorithm = "SHA1") -> str:
    """The HOTP value of ``counter`` under ``key`` (RFC 4226, section 5.3), zero-padded."""
    if counter < 0:
        raise ValueError("the counter must not be negative")
    mac = hmac.new(key, struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    (binary,) = struct.unpack(">I", mac[offset : offset + 4])
    return str((binary & 0x7FFFFFFF) % 10**digits).zfill(digits)


def time_step(at: datetime, *, period: int = PERIOD) -> int:
    """The RFC 6238 time step of ``at`` (seconds since the epoch over ``period``)."""
    return int(at.timestamp()) // period


def totp(
    key: bytes,
    at: datetime,
    *,
    digits: int = DIGITS,
    period: int = PERIOD,
    algorithm: Algorithm = "SHA1",
) -> str:
    """The TOTP value at ``at`` (RFC 6238, section 4)."""
    return hotp(key, time_step(at, period=period), digits=digits, algorithm=algorithm)


def verify_totp(secret: str, code: str, at: datetime, *, window: int = 1) -> int | None:
    """The time step whose code is ``code``, looking ``window`` steps either side of ``at``.

    ``None`` when no step in the window matches (or ``code`` is not ``DIGITS`` digits).
    Every candidate is compared in constant time. The caller must refuse a step it has
    accepted before (or an earlier one): that is what stops a replay.
    """
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    key = b32decode(secret)
    current = time_step(at)
    found: int | None = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(hotp(key, step).encode(), code.encode()) and found is None:
            found = step
    return found


def otpauth_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads (usually as a QR code).

    Follows Google Authenticator's key URI format: the label is ``issuer:account``,
    and the parameters repeat the defaults (SHA1, 6 digits, 30 seconds) for apps that
    do not assume them.
    """
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
