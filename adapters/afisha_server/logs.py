"""What the server writes to its logs: credentials removed, as text or one JSON object a line.

Every line goes through :func:`redact`, whatever logger wrote it (ours, uvicorn's,
APScheduler's, a traceback): any ``scheme://user:password@`` in it loses its
``user:password@``. ``AFISHA_LOG_FORMAT=json`` makes every line a JSON object with
``time``, ``level``, ``logger``, ``message`` and ``pid``, plus the request fields of access
lines (``request_id``, ``method``, ``route``, ``path``, ``status``, ``duration_ms``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "RedactingFormatter",
    "configure_logging",
    "redact",
    "redact_url",
]

#: The values ``AFISHA_LOG_FORMAT`` accepts.
LOG_FORMATS = ("text", "json")

# scheme://userinfo@ : the userinfo (anything up to the first @ before a / or space) goes.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@'\"]*@")
#: Attributes a ``LogRecord`` always has; anything else was passed as ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
#: Extra attributes copied into the JSON object of a line.
_FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "process_id")


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@`` part (the rest as given)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it removed."""
    return _USERINFO.sub(r"\1", text)


class RedactingFormatter(logging.Formatter):
    """The usual text format, with every URL's credentials removed."""

    def format(self, record: logging.LogRecord) -> str:
        """The line as ``logging.Formatter`` renders it, redacted."""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (credentials removed from every string)."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "pid": record.process,
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send every logger to ``stream`` (stderr) in ``fmt`` (``text`` or ``json``).

    Replaces the root logger's handlers and makes uvicorn's loggers use the same one,
    so no line escapes redaction or the format.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings become log lines too (JSON in JSON mode)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # APScheduler narrates every job run at INFO; our worker logs one line per tick.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
