"""Reading the ``AFISHA_SMTP_URL`` format: ``smtp://user:pw@host:587?starttls=true``."""

from __future__ import annotations

import enum
import math
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

import attrs

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_TIMEOUT", "Security", "SmtpUrl", "parse_smtp_url"]

#: Seconds to wait for each SMTP command's reply (and the TLS handshake).
DEFAULT_TIMEOUT = 30.0
#: Seconds to wait for the TCP connection and the server's greeting.
DEFAULT_CONNECT_TIMEOUT = 10.0

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_PARAMETERS = ("starttls", "timeout", "connect_timeout")


class Security(enum.Enum):
    """How the connection to the mail server is protected.

    ``PLAIN``: no TLS at all (a local relay, a test server). ``STARTTLS``: connect in
    the clear, then require an upgrade with STARTTLS before anything else (port 587).
    ``TLS``: TLS from the first byte, "implicit TLS" or SMTPS (port 465).
    """

    PLAIN = "plain"
    STARTTLS = "starttls"
    TLS = "tls"

    @property
    def default_port(self) -> int:
        """The usual port for this kind of connection: 25, 587 or 465."""
        return {Security.PLAIN: 25, Security.STARTTLS: 587, Security.TLS: 465}[self]


@attrs.frozen(kw_only=True)
class SmtpUrl:
    """What an SMTP URL says; :func:`parse_smtp_url` makes one."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT


def _redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``, for error messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority_end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            authority_end = min(authority_end, index)
    authority, tail = rest[:authority_end], rest[authority_end:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{hostport}{tail}"


def _flag(name: str, value: str, problem: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{problem}: {name}={value!r} must be true or false")


def _seconds(name: str, value: str, problem: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{problem}: {name}={value!r} must be a positive number of seconds")
    return seconds


def _port(parts: SplitResult, problem: str) -> int | None:
    """The explicit port of the URL, or ``None``."""
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ValueError(
            f"{problem}: the port must be a number from 1 to 65535, not {port_text!r}"
        ) from None
    if port == 0:
        raise ValueError(f"{problem}: the port must be a number from 1 to 65535, not 0")
    return port


def _parameters(query: str, problem: str) -> dict[str, str]:
    """The query parameters, each known and given once."""
    seen: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _PARAMETERS:
            known = ", ".join(_PARAMETERS)
            raise ValueError(f"{problem}: unknown parameter {name!r} (known: {known})")
        if name in seen:
            raise ValueError(f"{problem}: the parameter {name!r} is given twice")
        seen[name] = value
    return seen


def _credentials(parts: SplitResult, problem: str) -> tuple[str | None, str | None]:
    """The percent-decoded user name and password, both or neither."""
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None and not username:
        raise ValueError(f"{problem}: the user name before '@' is empty")
    if username is not None and password is None:
        raise ValueError(f"{problem}: the user {username!r} has no password (user:password@host)")
    return username, password


def parse_smtp_url(url: str) -> SmtpUrl:
    """Read an SMTP URL; raise ValueError naming the part that is wrong.

    Formats::

        smtp://host[:port]                         no TLS, port 25
        smtp://host[:port]?starttls=true           STARTTLS required, port 587
        smtps://host[:port]                        implicit TLS, port 465
        smtp://user:password@host...               AUTH with these credentials

    The user name and password are percent-decoded (write ``@`` as ``%40``, ``:`` as
    ``%3A``, ``/`` as ``%2F``). Query parameters: ``starttls`` (true/false),
    ``timeout`` (seconds per command, default 30) and ``connect_timeout`` (seconds to
    connect and be greeted, default 10). Error messages never show the password.
    """
    problem = f"invalid SMTP URL {_redacted(url)!r}"
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise ValueError(f"{problem}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise ValueError(f"{problem}: the scheme must be smtp:// or smtps://, not {scheme!r}")
    if not parts.hostname:
        raise ValueError(f"{problem}: the host is missing")
    port = _port(parts, problem)
    if parts.path not in {"", "/"}:
        raise ValueError(f"{problem}: the path {parts.path!r} is not allowed after the host")
    if parts.fragment:
        raise ValueError(f"{problem}: the fragment {parts.fragment!r} is not allowed")
    parameters = _parameters(parts.query, problem)
    username, password = _credentials(parts, problem)

    security = Security.TLS if scheme == "smtps" else Security.PLAIN
    if "starttls" in parameters and _flag("starttls", parameters["starttls"], problem):
        if security is Security.TLS:
            raise ValueError(
                f"{problem}: starttls=true contradicts smtps:// (TLS from the start); "
                "use smtp://...?starttls=true or smtps://, not both"
            )
        security = Security.STARTTLS

    timeout, connect_timeout = DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT
    if "timeout" in parameters:
        timeout = _seconds("timeout", parameters["timeout"], problem)
    if "connect_timeout" in parameters:
        connect_timeout = _seconds("connect_timeout", parameters["connect_timeout"], problem)
    return SmtpUrl(
        host=parts.hostname,
        port=port or security.default_port,
        security=security,
        username=username,
        password=password,
        timeout=timeout,
        connect_timeout=connect_timeout,
    )
