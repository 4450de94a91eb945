"""Reusable attrs validators for the domain's invariants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,32}$")
# Deliberately simple: one @, a non-empty local part, a dotted domain, no spaces.
_NOT_EMAIL = r"@\s\x00-\x1f\x7f"
EMAIL_RE = re.compile(rf"^[^{_NOT_EMAIL}]{{1,64}}@[^{_NOT_EMAIL}]+\.[^{_NOT_EMAIL}.]{{2,}}$")
MAX_EMAIL_LENGTH = 254


_ZERO = timedelta(0)


class InvalidValue(ValueError):
    """A value broke a rule; ``code`` names the rule (``too_long``, ``invalid_email``, ...).

    The message stays English; the stable ``code`` is what field errors carry and
    what catalogues translate.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def utc_datetime(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A datetime must be timezone-aware and in UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{attribute.name} must be a datetime")
    if value.tzinfo is UTC:  # the common case, checked on every object built
        return
    if value.tzinfo is None or value.utcoffset() != _ZERO:
        raise InvalidValue(f"{attribute.name} must be a timezone-aware UTC datetime", "not_utc")


def optional_utc_datetime(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Like :func:`utc_datetime`, but ``None`` is allowed."""
    if value is not None:
        utc_datetime(inst, attribute, value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def not_blank(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A string must hold something other than whitespace (and no NUL character)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{attribute.name} must not be empty", "blank")
    if "\x00" in value:
        raise InvalidValue(f"{attribute.name} must not contain NUL characters", "invalid_text")
    if _has_lone_surrogate(value):
        raise InvalidValue(f"{attribute.name} must be valid Unicode text", "invalid_text")


def _has_lone_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def max_length(n: int) -> Any:
    """A string (when not None) must be at most ``n`` characters long, without NULs."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise TypeError(f"{attribute.name} must be a string")
        if len(value) > n:
            raise InvalidValue(f"{attribute.name} must be at most {n} characters", "too_long")
        if "\x00" in value:
            raise InvalidValue(f"{attribute.name} must not contain NUL characters", "invalid_text")
        if _has_lone_surrogate(value):
            raise InvalidValue(f"{attribute.name} must be valid Unicode text", "invalid_text")

    return check


def single_line(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A string (when not None) must not contain line breaks or control characters."""
    if isinstance(value, str) and _CONTROL.search(value):
        raise InvalidValue(
            f"{attribute.name} must be one line without control characters", "not_single_line"
        )


def is_valid_email(value: str) -> bool:
    """Whether ``value`` has the shape of an email address."""
    return len(value) <= MAX_EMAIL_LENGTH and EMAIL_RE.fullmatch(value) is not None


def is_valid_username(value: str) -> bool:
    """Whether ``value`` is a valid username (``^[a-z0-9_.-]{3,32}$``)."""
    return USERNAME_RE.fullmatch(value) is not None


_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def is_valid_timezone(value: str) -> bool:
    """Whether ``value`` names an IANA time zone known to this system.

    The machine's own ``localtime`` and the ``posix/``/``right/`` variants are not
    IANA names and are refused.
    """
    if (
        not value
        or value in _NOT_ZONES
        or value.startswith(("/", ".", "posix/", "right/"))
        or ".." in value
    ):
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def email(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An email must have a plausible shape."""
    if not isinstance(value, str) or not is_valid_email(value):
        raise InvalidValue(f"{attribute.name} is not a valid email address", "invalid_email")


def username(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A username must match ``^[a-z0-9_.-]{3,32}$``."""
    if not isinstance(value, str) or not is_valid_username(value):
        raise InvalidValue(f"{attribute.name} must match ^[a-z0-9_.-]{{3,32}}$", "invalid_username")


def timezone_name(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A timezone must be an IANA name."""
    if not isinstance(value, str) or not is_valid_timezone(value):
        raise InvalidValue(f"{attribute.name} must be an IANA time zone name", "invalid_timezone")


def normalize_email(value: str) -> str:
    """Canonical form used for storage and lookups: trimmed, lower-cased."""
    return value.strip().lower()


_LOCALE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2}|_[0-9]{3})?$")


def locale(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A locale identifier: ``en``, ``ru``, ``pt_BR`` (which ones exist is the catalogues' call)."""
    if not isinstance(value, str) or not _LOCALE_RE.match(value):
        raise InvalidValue(
            f"{attribute.name} must be a locale such as 'en' or 'ru'", "invalid_locale"
        )
