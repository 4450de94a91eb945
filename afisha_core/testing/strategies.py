"""Hypothesis strategies for every entity of the domain and the port query values.

Every object they generate satisfies the domain's validators and is realistic enough
to store through any adapter: timestamps are aware UTC between the years 2000 and 2100
(with microseconds), related timestamps are ordered (``ends_at > starts_at``,
``expires_at > created_at``, ...), text is any Unicode (Cyrillic favoured) within the
field's maximum length but never holds NUL, which PostgreSQL cannot store, and
single-line fields (email subject, username, names) never hold line breaks.

Use them in your own tests::

    from hypothesis import given
    from afisha_core.testing import strategies as afs

    @given(afs.events())
    def test_something(event): ...
"""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import strategies as st

from afisha_core.domain import (
    MAX_CODE_ATTEMPTS,
    WEBHOOK_EVENT_TYPES,
    AuditAction,
    AuditEntry,
    AuditTarget,
    CalendarFeed,
    DeliveryStatus,
    Email,
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Participation,
    ParticipationStatus,
    Role,
    TotpCredential,
    TotpRecoveryCode,
    User,
    Webhook,
    WebhookDelivery,
)
from afisha_core.domain._validators import is_valid_timezone
from afisha_core.ports import (
    DueReminder,
    EventQuery,
    RateLimitResult,
    StoredObject,
    UserQuery,
)
from afisha_core.totp import b32encode

__all__ = [
    "audit_entries",
    "calendar_feeds",
    "due_reminders",
    "email_addresses",
    "emails",
    "event_queries",
    "event_views",
    "events",
    "login_sessions",
    "multiline_text",
    "notifications",
    "outbox_messages",
    "participants",
    "participations",
    "rate_limit_results",
    "recoveries",
    "registrations",
    "sha256_hex",
    "single_line_text",
    "stored_objects",
    "timezones",
    "totp_credentials",
    "totp_recovery_codes",
    "user_queries",
    "usernames",
    "users",
    "utc_datetimes",
    "webhook_deliveries",
    "webhooks",
]

_MIN_MOMENT = datetime(2000, 1, 1)  # noqa: DTZ001 - hypothesis bounds are naive by design
_MAX_MOMENT = datetime(2100, 12, 31, 23, 59, 59, 999_999)  # noqa: DTZ001 - as above

# Long texts are shrunk to this many characters, except for one branch that builds a
# text of exactly the maximum length (the boundary worth testing).
_SHORT_TEXT = 40

_CYRILLIC = st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)
_ANY_CHAR = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
# No control characters (categories Cc), line or paragraph separators, or surrogates.
_LINE_CHAR = st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp"))


def utc_datetimes() -> st.SearchStrategy[datetime]:
    """Generate aware UTC datetimes, with microseconds, in the years 2000 to 2100."""
    return st.datetimes(min_value=_MIN_MOMENT, max_value=_MAX_MOMENT, timezones=st.just(UTC))


def _later(start: datetime, *, at_least: timedelta = timedelta(0)) -> st.SearchStrategy[datetime]:
    """Draw a moment ``at_least`` after ``start`` or later (up to about two years)."""
    return st.timedeltas(min_value=at_least, max_value=timedelta(days=800)).map(
        lambda delta: start + delta
    )


def _optional_later(start: datetime) -> st.SearchStrategy[datetime | None]:
    return st.none() | _later(start)


def _text(
    chars: st.SearchStrategy[str], max_length: int, *, min_length: int = 0
) -> st.SearchStrategy[str]:
    short = st.text(chars, min_size=min_length, max_size=min(max_length, _SHORT_TEXT))
    if max_length <= _SHORT_TEXT:
        return short
    full = st.text(chars, min_size=1, max_size=8).map(
        lambda seed: (seed * (max_length // len(seed) + 1))[:max_length]
    )
    return st.one_of(short, short, short, full)


def _alphabet(chars: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(_CYRILLIC, chars)


def multiline_text(max_length: int, *, min_length: int = 0) -> st.SearchStrategy[str]:
    """Unicode text of ``min_length`` to ``max_length`` characters; may span lines.

    Anything but surrogates and NUL; Cyrillic is favoured.
    """
    return _text(_alphabet(_ANY_CHAR), max_length, min_length=min_length)


@st.composite
def single_line_text(draw: st.DrawFn, max_length: int, *, not_blank: bool = False) -> str:
    """Unicode text on one line, at most ``max_length`` characters (no control characters).

    With ``not_blank`` it holds at least one character that is not whitespace.
    """
    chars = _alphabet(_LINE_CHAR)
    if not not_blank:
        return draw(_text(chars, max_length))
    anchor = draw(chars.filter(lambda char: not char.isspace()))
    rest = draw(_text(chars, max_length - 1))
    cut = draw(st.integers(min_value=0, max_value=len(rest)))
    return rest[:cut] + anchor + rest[cut:]


def sha256_hex() -> st.SearchStrategy[str]:
    """Lower-case hex SHA-256 digests, as stored for tokens and codes."""
    return st.binary(min_size=1, max_size=32).map(lambda data: hashlib.sha256(data).hexdigest())


def _password_hashes() -> st.SearchStrategy[str]:
    """Strings shaped like argon2id hashes (the testing hasher's are accepted too)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    b64 = st.text(alphabet, min_size=43, max_size=43)
    return st.builds(
        lambda salt, digest: f"$argon2id$v=19$m=19456,t=2,p=1${salt[:22]}${digest[:43]}",
        b64,
        b64,
    )


def _credential_versions() -> st.SearchStrategy[int]:
    """Password generations: 1 for a first password, more after each change."""
    return st.integers(min_value=1, max_value=2**31 - 1)


def usernames() -> st.SearchStrategy[str]:
    """Generate valid usernames: 3 to 32 of ``a-z``, ``0-9``, ``_``, ``.`` and ``-``."""
    return st.text("abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=3, max_size=32)


@st.composite
def email_addresses(draw: st.DrawFn) -> str:
    """Generate valid, already normalised (trimmed, lower-case) email addresses.

    Mostly ASCII, sometimes Cyrillic (``имя@пример.рф``); always within 254 characters.
    """
    cyrillic = draw(st.booleans())
    letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя" if cyrillic else "abcdefghijklmnopqrstuvwxyz"
    local = draw(st.text(letters + "0123456789._%+-", min_size=1, max_size=64))
    labels = draw(
        st.lists(st.text(letters + "0123456789-", min_size=1, max_size=20), min_size=1, max_size=3)
    )
    top = draw(st.text(letters, min_size=2, max_size=10))
    return f"{local}@{'.'.join(labels)}.{top}"


# Only names the domain accepts (the system may list "localtime" or "Factory" too).
_ZONES = sorted(z for z in zoneinfo.available_timezones() | {"UTC"} if is_valid_timezone(z))


def timezones() -> st.SearchStrategy[str]:
    """IANA time zone names known to this system (``UTC`` included)."""
    return st.sampled_from(_ZONES)


# --- entities -----------------------------------------------------------------------


@st.composite
def users(draw: st.DrawFn, *, role: Role | None = None, deleted: bool | None = None) -> User:
    """Users of any role; ``role`` and ``deleted`` (soft-deleted or live) can be fixed."""
    created_at = draw(utc_datetimes())
    is_deleted = draw(st.booleans()) if deleted is None else deleted
    chosen_role = draw(st.sampled_from(Role)) if role is None else role
    return User(
        id=draw(st.uuids()),
        email=draw(email_addresses()),
        username=draw(usernames()),
        full_name=draw(single_line_text(200, not_blank=True)),
        password_hash=draw(_password_hashes()),
        role=chosen_role,
        # A system user is an administrator that can be neither demoted nor deleted.
        is_system=(
            draw(st.booleans()) if chosen_role is Role.ADMINISTRATOR and not is_deleted else False
        ),
        created_at=created_at,
        deleted_at=(deleted_at := draw(_later(created_at)) if is_deleted else None),
        credential_version=draw(_credential_versions()),
        totp_enabled=draw(st.booleans()),
        erased_at=draw(_optional_later(deleted_at)) if deleted_at is not None else None,
        locale=draw(locales()),
    )


def locales() -> st.SearchStrategy[str]:
    """Locale identifiers: the shipped ones and a few others an embedder may add."""
    return st.sampled_from(["en", "ru", "de", "pt_BR", "sr_Latn_RS"])


@st.composite
def login_sessions(draw: st.DrawFn, *, user_id: UUID | None = None) -> LoginSession:
    """Login sessions, active, revoked or expired (relative to any ``now``)."""
    created_at = draw(utc_datetimes())
    return LoginSession(
        uid=draw(st.uuids()),
        user_id=draw(st.uuids()) if user_id is None else user_id,
        token_hash=draw(sha256_hex()),
        user_agent=draw(single_line_text(512)),
        client_address=draw(st.none() | st.ip_addresses().map(str)),
        created_at=created_at,
        last_seen_at=draw(_later(created_at)),
        expires_at=draw(_later(created_at, at_least=timedelta(microseconds=1))),
        revoked_at=draw(_optional_later(created_at)),
        credential_version=draw(_credential_versions()),
    )


@st.composite
def registrations(draw: st.DrawFn) -> IssuedRegistration:
    """Issued registrations in any state: fresh, with wrong codes, dead, confirmed.

    ``code_hash`` is ``None`` sometimes (the email already belonged to a live user).
    """
    created_at = draw(utc_datetimes())
    return IssuedRegistration(
        id=draw(st.uuids()),
        token_hash=draw(sha256_hex()),
        code_hash=draw(st.none() | sha256_hex()),
        email=draw(email_addresses()),
        username=draw(usernames()),
        full_name=draw(single_line_text(200, not_blank=True)),
        password_hash=draw(_password_hashes()),
        attempts=draw(st.integers(min_value=0, max_value=MAX_CODE_ATTEMPTS)),
        created_at=created_at,
        expires_at=draw(_later(created_at, at_least=timedelta(microseconds=1))),
        confirmed_at=draw(_optional_later(created_at)),
        locale=draw(locales()),
    )


@st.composite
def recoveries(draw: st.DrawFn, *, user_id: UUID | None = None) -> IssuedLoginRecovery:
    """Password-recovery tokens, used or not, expired or not."""
    created_at = draw(utc_datetimes())
    return IssuedLoginRecovery(
        id=draw(st.uuids()),
        user_id=draw(st.uuids()) if user_id is None else user_id,
        token_hash=draw(sha256_hex()),
        created_at=created_at,
        expires_at=draw(_later(created_at, at_least=timedelta(microseconds=1))),
        used_at=draw(_optional_later(created_at)),
        credential_version=draw(_credential_versions()),
    )


def _image_keys() -> st.SearchStrategy[str]:
    return st.builds(
        lambda event_id, digest, ext: f"events/{event_id}/{digest[:16]}.{ext}",
        st.uuids(),
        sha256_hex(),
        st.sampled_from(["png", "jpg", "webp", "gif"]),
    )


@st.composite
def events(
    draw: st.DrawFn,
    *,
    rejected: bool | None = None,
    capacity: st.SearchStrategy[int | None] | None = None,
) -> Event:
    """Events, limited or unlimited, live or cancelled, in any time zone.

    ``rejected`` fixes whether the event was cancelled; ``capacity`` draws
    ``max_participants_count`` (``None`` is unlimited; otherwise at least 1).
    """
    created_at = draw(utc_datetimes())
    starts_at = draw(utc_datetimes())
    is_rejected = draw(st.booleans()) if rejected is None else rejected
    capacities = st.none() | st.integers(min_value=1, max_value=10_000)
    return Event(
        id=draw(st.uuids()),
        name=draw(single_line_text(200, not_blank=True)),
        short_description=draw(single_line_text(500)),
        description=draw(multiline_text(20_000)),
        starts_at=starts_at,
        ends_at=draw(_later(starts_at, at_least=timedelta(microseconds=1))),
        timezone=draw(timezones()),
        location=draw(single_line_text(500)),
        payment_info=draw(multiline_text(2_000)),
        max_participants_count=draw(capacities if capacity is None else capacity),
        image_key=draw(st.none() | _image_keys()),
        created_by=draw(st.none() | st.uuids()),
        created_at=created_at,
        updated_at=draw(_later(created_at)),
        rejected_at=draw(_later(created_at)) if is_rejected else None,
        rejection_reason=draw(st.none() | multiline_text(2_000)) if is_rejected else None,
    )


@st.composite
def event_views(draw: st.DrawFn) -> EventView:
    """Events with consistent live counts and the viewer's status.

    At most ``max_participants_count`` participants; a waitlist only for limited events.
    """
    event = draw(events())
    cap = event.max_participants_count
    if cap is None:
        participants_count = draw(st.integers(min_value=0, max_value=100_000))
        waitlist_count = 0
    else:
        participants_count = draw(st.integers(min_value=0, max_value=cap))
        waitlist_count = draw(st.integers(min_value=0, max_value=1_000))
    return EventView(
        event=event,
        participants_count=participants_count,
        waitlist_count=waitlist_count,
        my_status=draw(st.none() | st.sampled_from(ParticipationStatus)),
    )


@st.composite
def participations(
    draw: st.DrawFn,
    *,
    event_id: UUID | None = None,
    user_id: UUID | None = None,
    status: ParticipationStatus | None = None,
) -> Participation:
    """Participations in any status; ``event_id``, ``user_id`` and ``status`` can be fixed."""
    created_at = draw(utc_datetimes())
    return Participation(
        event_id=draw(st.uuids()) if event_id is None else event_id,
        user_id=draw(st.uuids()) if user_id is None else user_id,
        status=draw(st.sampled_from(ParticipationStatus)) if status is None else status,
        created_at=created_at,
        status_changed_at=draw(_later(created_at)),
        reminder_queued_at=draw(_optional_later(created_at)),
    )


@st.composite
def notifications(draw: st.DrawFn, *, user_id: UUID | None = None) -> InstantNotification:
    """In-app notifications, acknowledged or not, with or without a call to action."""
    created_at = draw(utc_datetimes())
    with_cta = draw(st.booleans())
    return InstantNotification(
        id=draw(st.uuids()),
        user_id=draw(st.uuids()) if user_id is None else user_id,
        title=draw(single_line_text(300, not_blank=True)),
        content=draw(multiline_text(5_000)),
        cta_url=(
            draw(st.uuids().map(lambda event_id: f"https://afisha.example/events/{event_id}"))
            if with_cta
            else None
        ),
        cta_label=draw(single_line_text(100, not_blank=True)) if with_cta else None,
        created_at=created_at,
        acked_at=draw(_optional_later(created_at)),
    )


@st.composite
def emails(draw: st.DrawFn) -> Email:
    """Emails with a one-line subject, a text body and sometimes an HTML body."""
    return Email(
        to=draw(email_addresses()),
        subject=draw(single_line_text(998, not_blank=True)),
        text=draw(multiline_text(5_000)),
        html=draw(st.none() | multiline_text(5_000).map(lambda body: f"<p>{body}</p>")),
    )


@st.composite
def outbox_messages(draw: st.DrawFn, *, status: OutboxStatus | None = None) -> OutboxMessage:
    """Outbox messages; ``sent_at`` is set exactly when the status is SENT.

    A retried or failed message has attempts and a last error.
    """
    created_at = draw(utc_datetimes())
    chosen = draw(st.sampled_from(OutboxStatus)) if status is None else status
    attempts = draw(st.integers(min_value=0 if chosen is OutboxStatus.PENDING else 1, max_value=20))
    return OutboxMessage(
        id=draw(st.uuids()),
        email=draw(emails()),
        status=chosen,
        attempts=attempts,
        created_at=created_at,
        next_attempt_at=draw(_later(created_at)),
        last_error=draw(single_line_text(500, not_blank=True)) if attempts else None,
        sent_at=draw(_later(created_at)) if chosen is OutboxStatus.SENT else None,
    )


@st.composite
def participants(draw: st.DrawFn) -> Participant:
    """Generate a user with one of their participations (``participation.user_id == user.id``)."""
    user = draw(users(deleted=False))
    return Participant(user=user, participation=draw(participations(user_id=user.id)))


@st.composite
def due_reminders(draw: st.DrawFn) -> DueReminder:
    """Claimed reminders: a live user's address and language, for an event."""
    user = draw(users(deleted=False))
    return DueReminder(
        event_id=draw(st.uuids()), user_id=user.id, email=user.email, locale=user.locale
    )


@st.composite
def rate_limit_results(draw: st.DrawFn) -> RateLimitResult:
    """Rate-limiter answers: allowed ones wait zero, refused ones wait up to a day."""
    limit = draw(st.integers(min_value=1, max_value=1_000))
    allowed = draw(st.booleans())
    if allowed:
        count = draw(st.integers(min_value=0, max_value=limit))
        retry_after = timedelta(0)
    else:
        count = draw(st.integers(min_value=limit + 1, max_value=limit + 1_000))
        retry_after = draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)))
    return RateLimitResult(allowed=allowed, count=count, limit=limit, retry_after=retry_after)


def stored_objects() -> st.SearchStrategy[StoredObject]:
    """Generate stored objects: some bytes and an image content type."""
    return st.builds(
        StoredObject,
        data=st.binary(max_size=256),
        content_type=st.sampled_from(["image/png", "image/jpeg", "image/webp", "image/gif"]),
    )


# --- queries ------------------------------------------------------------------------


def _keys() -> st.SearchStrategy[tuple[datetime, UUID]]:
    return st.tuples(utc_datetimes(), st.uuids())


def user_queries() -> st.SearchStrategy[UserQuery]:
    """User listing queries: optional text and role, an optional cursor key, a limit."""
    return st.builds(
        UserQuery,
        text=st.none() | single_line_text(100),
        role=st.none() | st.sampled_from(Role),
        after=st.none() | _keys(),
        limit=st.integers(min_value=1, max_value=100),
    )


@st.composite
def event_queries(draw: st.DrawFn) -> EventQuery:
    """Event listing queries with any combination of filters.

    When both time bounds are set, ``starts_from`` is before ``starts_before``.
    """
    starts_from = draw(st.none() | utc_datetimes())
    starts_before = draw(
        st.none() | (utc_datetimes() if starts_from is None else _later(starts_from))
    )
    return EventQuery(
        starts_from=starts_from,
        starts_before=starts_before,
        text=draw(st.none() | single_line_text(100)),
        include_rejected=draw(st.booleans()),
        include_finished=draw(st.booleans()),
        participant_id=draw(st.none() | st.uuids()),
        participant_statuses=draw(st.frozensets(st.sampled_from(ParticipationStatus))),
        after=draw(st.none() | _keys()),
        limit=draw(st.integers(min_value=1, max_value=100)),
    )


@st.composite
def totp_credentials(draw: st.DrawFn, *, user_id: UUID | None = None) -> TotpCredential:
    """TOTP credentials, pending or confirmed (time steps up to the year 2100 and beyond)."""
    created_at = draw(utc_datetimes())
    confirmed_at = draw(_optional_later(created_at))
    return TotpCredential(
        user_id=draw(st.uuids()) if user_id is None else user_id,
        secret=draw(st.builds(b32encode, st.binary(min_size=10, max_size=64))),
        created_at=created_at,
        confirmed_at=confirmed_at,
        last_step=draw(st.integers(0, 2**40)) if confirmed_at is not None else None,
    )


@st.composite
def totp_recovery_codes(draw: st.DrawFn, *, user_id: UUID | None = None) -> TotpRecoveryCode:
    """Recovery codes, used or not."""
    created_at = draw(utc_datetimes())
    return TotpRecoveryCode(
        id=draw(st.uuids()),
        user_id=draw(st.uuids()) if user_id is None else user_id,
        code_hash=draw(sha256_hex()),
        created_at=created_at,
        used_at=draw(_optional_later(created_at)),
    )


_DETAIL_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    single_line_text(100),
)


@st.composite
def audit_entries(draw: st.DrawFn) -> AuditEntry:
    """Audit entries with any action, optional actor and target, and small details."""
    has_target = draw(st.booleans())
    return AuditEntry(
        id=draw(st.uuids()),
        at=draw(utc_datetimes()),
        actor_id=draw(st.none() | st.uuids()),
        action=draw(st.sampled_from(AuditAction)),
        target_type=draw(st.sampled_from(AuditTarget)) if has_target else None,
        target_id=draw(st.uuids()) if has_target else None,
        ip=draw(st.none() | st.ip_addresses().map(str)),
        details=draw(st.dictionaries(single_line_text(20, not_blank=True), _DETAIL_VALUES,
                                     max_size=5)),
    )  # fmt: skip


@st.composite
def calendar_feeds(draw: st.DrawFn, *, user_id: UUID | None = None) -> CalendarFeed:
    """Personal calendar feeds (the token's SHA-256, never the token)."""
    return CalendarFeed(
        user_id=draw(st.uuids()) if user_id is None else user_id,
        token_hash=draw(sha256_hex()),
        created_at=draw(utc_datetimes()),
    )


@st.composite
def webhooks(draw: st.DrawFn) -> Webhook:
    """Webhooks, active, failing or disabled."""
    created_at = draw(utc_datetimes())
    failing_since = draw(_optional_later(created_at))
    return Webhook(
        id=draw(st.uuids()),
        url=f"https://{draw(st.from_regex(r'[a-z]{1,20}', fullmatch=True))}.example/hook",
        event_types=draw(st.lists(st.sampled_from(WEBHOOK_EVENT_TYPES), min_size=1, unique=True)),
        description=draw(single_line_text(200)),
        secret="whsec_" + draw(st.binary(min_size=24, max_size=32)).hex(),
        created_at=created_at,
        failing_since=failing_since,
        disabled_at=draw(st.none() if failing_since is None else _optional_later(failing_since)),
    )


@st.composite
def webhook_deliveries(draw: st.DrawFn) -> WebhookDelivery:
    """Webhook deliveries in any state, with small JSON payloads."""
    created_at = draw(utc_datetimes())
    status = draw(st.sampled_from(DeliveryStatus))
    json_values = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | single_line_text(50)
    return WebhookDelivery(
        id=draw(st.uuids()),
        webhook_id=draw(st.uuids()),
        event_type=draw(st.sampled_from(WEBHOOK_EVENT_TYPES)),
        payload=draw(st.dictionaries(single_line_text(20), json_values, max_size=5)),
        status=status,
        attempts=draw(st.integers(0, 8)),
        next_attempt_at=draw(_later(created_at)) if status is DeliveryStatus.PENDING else None,
        last_status_code=draw(st.none() | st.integers(100, 599)),
        last_error=draw(st.none() | single_line_text(200)),
        created_at=created_at,
        delivered_at=draw(_later(created_at)) if status is DeliveryStatus.DELIVERED else None,
    )
