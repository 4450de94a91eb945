"""Reading a storage URL (``AFISHA_STORAGE_URL``) into settings, with clear errors."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit
from urllib.request import url2pathname

import attrs

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "LocalSettings",
    "MemorySettings",
    "S3Settings",
    "parse_duration",
    "parse_storage_url",
]

#: How long an S3 request may take to connect, and in all, per attempt.
DEFAULT_CONNECT_TIMEOUT: Final = timedelta(seconds=5)
DEFAULT_TIMEOUT: Final = timedelta(seconds=30)
#: How often, and for how long in all, a failed S3 request is retried.
DEFAULT_MAX_RETRIES: Final = 3
DEFAULT_RETRY_TIMEOUT: Final = timedelta(seconds=15)

_S3_PARAMETERS: Final = (
    "endpoint",
    "region",
    "path_style",
    "allow_http",
    "public_url",
    "presign",
    "connect_timeout",
    "timeout",
    "max_retries",
    "retry_timeout",
)
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Bucket names of S3 and of the S3-compatible servers (legacy AWS names included).
_BUCKET: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


@attrs.frozen(kw_only=True)
class S3Settings:
    """What an ``s3://`` URL says; ``None`` means "the default"."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    path_style: bool | None = None
    allow_http: bool | None = None
    public_url: str | None = None
    presign_expiry: timedelta | None = None
    connect_timeout: timedelta = DEFAULT_CONNECT_TIMEOUT
    timeout: timedelta = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_timeout: timedelta = DEFAULT_RETRY_TIMEOUT


@attrs.frozen(kw_only=True)
class LocalSettings:
    """What a ``file://`` URL says: the folder (relative to the current directory or not)."""

    directory: Path


@attrs.frozen(kw_only=True)
class MemorySettings:
    """A ``memory://`` URL."""


def parse_storage_url(url: str) -> S3Settings | LocalSettings | MemorySettings:
    """Read a storage URL; raise ``ValueError`` naming the part that is wrong.

    The message never repeats the whole URL (it might hold something secret).
    """
    if not url.strip():
        raise ValueError(
            "the storage URL is empty; use s3://bucket?..., file://folder or memory://"
        )
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise ValueError(f"the storage URL cannot be parsed: {exc}") from exc
    if parts.fragment:
        raise ValueError("the storage URL must not have a #fragment")
    match parts.scheme:
        case "s3":
            return _s3(parts.netloc, parts.path, parts.query)
        case "file":
            return _local(parts.netloc, parts.path, parts.query)
        case "memory":
            if parts.netloc or parts.path not in {"", "/"} or parts.query:
                raise ValueError("a memory storage URL is just 'memory://', with nothing after it")
            return MemorySettings()
        case "":
            raise ValueError(
                "the storage URL has no scheme; use s3://bucket?..., file://folder or memory://"
            )
        case other:
            raise ValueError(
                f"the storage URL scheme {other!r} is not supported; use s3, file or memory"
            )


def parse_duration(text: str, what: str) -> timedelta:
    """Read a duration: ``90``, ``1.5`` (seconds), ``500ms``, ``30s``, ``5m``, ``1h``, ``7d``."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{what} must be a duration such as 3600, 30s, 5m or 1h, got {text!r}")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit or "s"])


def _s3(netloc: str, path: str, query: str) -> S3Settings:
    if "@" in netloc:
        raise ValueError(
            "an s3 storage URL must not hold credentials; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY instead"
        )
    bucket = netloc
    if not bucket:
        raise ValueError("the s3 storage URL names no bucket; use s3://bucket-name?...")
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(f"the bucket name {bucket!r} in the s3 storage URL is not valid")
    prefix = unquote(path).strip("/")
    if prefix and any(segment in {"", ".", ".."} for segment in prefix.split("/")):
        raise ValueError(f"the key prefix {prefix!r} in the s3 storage URL is not valid")
    params = _query(query, "s3", _S3_PARAMETERS)
    if "presign" in params and "public_url" in params:
        raise ValueError(
            "the s3 storage URL gives both 'public_url' and 'presign': "
            "URLs are either public or presigned"
        )
    presign = params.get("presign")
    return S3Settings(
        bucket=bucket,
        prefix=prefix,
        endpoint=_text(params, "endpoint"),
        region=_text(params, "region"),
        path_style=_boolean(params, "path_style"),
        allow_http=_boolean(params, "allow_http"),
        public_url=_text(params, "public_url"),
        presign_expiry=None if presign is None else parse_duration(presign, "'presign'"),
        connect_timeout=_duration(params, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
        timeout=_duration(params, "timeout", DEFAULT_TIMEOUT),
        max_retries=_count(params, "max_retries", DEFAULT_MAX_RETRIES),
        retry_timeout=_duration(params, "retry_timeout", DEFAULT_RETRY_TIMEOUT),
    )


def _local(netloc: str, path: str, query: str) -> LocalSettings:
    _query(query, "file", ())
    # file:///abs/folder, file://localhost/abs/folder and file:relative/folder have no
    # host; in file://./folder or file://folder/sub the "host" is the first folder name.
    raw = path if netloc in {"", "localhost"} else netloc + path
    if not raw:
        raise ValueError("the file storage URL names no folder; use file://./afisha-data/media")
    return LocalSettings(directory=Path(url2pathname(raw)).expanduser())


def _query(query: str, scheme: str, known: tuple[str, ...]) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise ValueError(f"the query of the {scheme} storage URL cannot be parsed") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in known:
            expected = ", ".join(known) if known else "none"
            raise ValueError(
                f"unknown parameter {name!r} in the {scheme} storage URL (known: {expected})"
            )
        if name in params:
            raise ValueError(f"the parameter {name!r} is given twice in the {scheme} storage URL")
        params[name] = value
    return params


def _text(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not value.strip():
        raise ValueError(f"the s3 storage URL parameter {name!r} is empty")
    return value


def _boolean(params: dict[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name!r} must be true or false, got {value!r}")


def _duration(params: dict[str, str], name: str, default: timedelta) -> timedelta:
    value = params.get(name)
    return default if value is None else parse_duration(value, repr(name))


def _count(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ValueError(f"{name!r} must be a whole number >= 0, got {value!r}")
    return int(value)
