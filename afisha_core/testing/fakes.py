"""In-memory fakes of the ports that are not repositories.

Each fake behaves like the real adapter as the port's docstring describes it (and passes
the same contract suite from :mod:`afisha_core.testing.contracts`), and adds a few
handles for tests: a clock you can move, a mailer that records what it sent and can be
told to fail, a password hasher fast enough for thousands of hashes, a token generator
that remembers what it handed out.

Only the standard library, attrs and the core are imported here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import quote

from afisha_core.domain import Email
from afisha_core.errors import PermanentDeliveryError, TemporaryDeliveryError
from afisha_core.limiter import InProcessRateLimiter
from afisha_core.ports import StoredObject, TokenGenerator
from afisha_core.tokens import SecretsTokenGenerator

__all__ = [
    "FakeClock",
    "FastPasswordHasher",
    "InMemoryObjectStorage",
    "InMemoryRateLimiter",
    "RecordingMailer",
    "RecordingTokenGenerator",
]


def _as_utc(value: datetime, name: str) -> datetime:
    """Return ``value`` with ``datetime.UTC`` as tzinfo; it must be aware and in UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got {value!r}")
    return value.replace(tzinfo=UTC)


# --- Clock ------------------------------------------------------------------------------


class FakeClock:
    """A :class:`~afisha_core.ports.Clock` that stands still until a test moves it.

    It starts at ``start`` (by default :attr:`DEFAULT_START`, a fixed instant, so tests
    are reproducible). :meth:`advance` moves it forward; :meth:`set` puts it anywhere,
    backwards included.
    """

    DEFAULT_START: ClassVar[datetime] = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

    def __init__(self, start: datetime | None = None) -> None:
        self._now = self.DEFAULT_START if start is None else _as_utc(start, "start")

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()!r})"

    def now(self) -> datetime:
        """Return the current (fake) time, timezone-aware, in UTC."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (not negative) and return the new time."""
        if not isinstance(delta, timedelta):
            raise TypeError(f"delta must be a timedelta, not {type(delta).__name__}")
        if delta < timedelta(0):
            raise ValueError(f"a clock only advances; use set() to go back (delta={delta})")
        self._now += delta
        return self._now

    def set(self, dt: datetime) -> None:
        """Put the clock at ``dt``, a timezone-aware UTC datetime."""
        self._now = _as_utc(dt, "dt")


# --- RateLimiter --------------------------------------------------------------------------

#: The in-process limiter of single-process deployments is the one tests use too.
InMemoryRateLimiter = InProcessRateLimiter


# --- ObjectStorage -------------------------------------------------------------------------


def _check_key(key: str) -> None:
    """Reject keys that could escape a folder or mean different things to different stores."""
    if not key:
        raise ValueError("an object key must be a non-empty string")
    if key.startswith("/"):
        raise ValueError(f"an object key must not start with '/': {key!r}")
    if "\\" in key:
        raise ValueError(f"an object key must not contain a backslash: {key!r}")
    if ".." in key.split("/"):
        raise ValueError(f"an object key must not contain a '..' segment: {key!r}")


class InMemoryObjectStorage:
    """An :class:`~afisha_core.ports.ObjectStorage` keeping objects in a dict.

    ``url(key)`` is ``base_url`` (trailing slashes dropped), ``/`` and the key,
    percent-encoded except for its slashes; a bare scheme such as the default
    ``memory://`` keeps its ``//`` (``memory://events/1/image.png``).

    Keys must be non-empty, must not start with ``/`` and must hold no ``..`` segment
    and no backslash (else :class:`ValueError`): the rules that keep a file-system store
    inside its folder.
    """

    def __init__(self, base_url: str = "memory://") -> None:
        base = base_url.rstrip("/")
        self._prefix = base + ("//" if base.endswith(":") else "/")
        self._objects: dict[str, StoredObject] = {}

    @property
    def keys(self) -> frozenset[str]:
        """Return the keys of the objects stored now (for assertions in tests)."""
        return frozenset(self._objects)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` with its content type, replacing any object there."""
        _check_key(key)
        self._objects[key] = StoredObject(data=bytes(data), content_type=content_type)

    async def get(self, key: str) -> StoredObject | None:
        """Return the object under ``key``, or ``None``."""
        _check_key(key)
        return self._objects.get(key)

    async def delete(self, key: str) -> None:
        """Remove the object under ``key``; no error if there is none."""
        _check_key(key)
        self._objects.pop(key, None)

    def url(self, key: str) -> str:
        """Return ``base_url``, ``/`` and the percent-encoded key (slashes kept)."""
        _check_key(key)
        return self._prefix + quote(key, safe="/")


# --- Mailer --------------------------------------------------------------------------------


class RecordingMailer:
    """A :class:`~afisha_core.ports.Mailer` that keeps every email it "sends" in :attr:`sent`.

    :meth:`fail_next` makes the following sends raise instead, as a broken mail server
    would; a failed send records nothing.
    """

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self._failures: deque[bool] = deque()  # True: permanent

    async def send(self, email: Email) -> None:
        """Record ``email``, or raise the next failure queued by :meth:`fail_next`.

        Raises :class:`~afisha_core.errors.TemporaryDeliveryError` or
        :class:`~afisha_core.errors.PermanentDeliveryError` while failures are queued.
        """
        if self._failures:
            if self._failures.popleft():
                raise PermanentDeliveryError(f"recipient refused (fake): {email.to}")
            raise TemporaryDeliveryError(f"mail server unavailable (fake): {email.to}")
        self.sent.append(email)

    def fail_next(self, n: int = 1, *, permanent: bool = False) -> None:
        """Make the next ``n`` sends fail, after any failures already queued.

        They raise :class:`~afisha_core.errors.PermanentDeliveryError` when
        ``permanent``, :class:`~afisha_core.errors.TemporaryDeliveryError` otherwise.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        self._failures.extend([permanent] * n)

    @property
    def pending_failures(self) -> int:
        """Count the next sends that will fail."""
        return len(self._failures)

    def last_to(self, address: str) -> Email | None:
        """Return the last email sent to ``address`` (case-insensitively), or ``None``."""
        wanted = address.strip().lower()
        for email in reversed(self.sent):
            if email.to.lower() == wanted:
                return email
        return None


# --- PasswordHasher ------------------------------------------------------------------------

_FAKE_HASH_RE = re.compile(r"^(fake(?:-v[0-9]+)?)\$([0-9a-f]{16})\$([0-9a-f]{64})$")


class FastPasswordHasher:
    """A :class:`~afisha_core.ports.PasswordHasher` for tests: salted SHA-256, instant.

    Hashes look like ``fake$<salt>$<sha256(salt + password)>``; with ``version=N`` the
    prefix is ``fake-vN``, so a test can simulate changed parameters: a hasher of
    another version still verifies the hash, and :meth:`needs_rehash` says it is due
    for a rehash. Never use it for real passwords.
    """

    def __init__(self, version: int | None = None) -> None:
        if version is not None and version < 0:
            raise ValueError(f"version must not be negative, got {version}")
        self._prefix = "fake" if version is None else f"fake-v{version}"

    @property
    def prefix(self) -> str:
        """Return the prefix of the hashes this hasher makes (``fake`` or ``fake-vN``)."""
        return self._prefix

    async def hash(self, password: str) -> str:
        """Return a new salted hash of ``password``."""
        salt = secrets.token_hex(8)
        return f"{self._prefix}${salt}${_digest(salt, password)}"

    async def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether ``password`` matches ``password_hash`` (of any version).

        ``False`` for a malformed hash.
        """
        match = _FAKE_HASH_RE.fullmatch(password_hash)
        if match is None:
            return False
        _, salt, digest = match.groups()
        return hmac.compare_digest(digest, _digest(salt, password))

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made by another version (or is not one of ours)."""
        match = _FAKE_HASH_RE.fullmatch(password_hash)
        return match is None or match.group(1) != self._prefix


def _digest(salt: str, password: str) -> str:
    return hashlib.sha256((salt + password).encode("utf-8", "surrogatepass")).hexdigest()


# --- TokenGenerator ------------------------------------------------------------------------


class RecordingTokenGenerator:
    """A :class:`~afisha_core.ports.TokenGenerator` that remembers what it handed out.

    It draws from ``inner`` (by default the real
    :class:`~afisha_core.tokens.SecretsTokenGenerator`) and appends each token to
    :attr:`issued_tokens` and each code to :attr:`issued_codes`, so a test can find the
    token or code a use case mailed without parsing the email.
    """

    def __init__(self, inner: TokenGenerator | None = None) -> None:
        self._inner: TokenGenerator = SecretsTokenGenerator() if inner is None else inner
        self.issued_tokens: list[str] = []
        self.issued_codes: list[str] = []

    def token(self) -> str:
        """Return (and record) a URL-safe token with 256 bits of randomness."""
        token = self._inner.token()
        self.issued_tokens.append(token)
        return token

    def code(self) -> str:
        """Return (and record) a uniformly random 6-digit code."""
        code = self._inner.code()
        self.issued_codes.append(code)
        return code
