"""One dialect-free table mapping per entity, for the SQL stores.

(SQL text is built only from the constant table and column names below, hence the
``noqa: S608`` markers.)

Each :class:`Table` says which table holds an entity and which column holds which
attribute: the columns come from the entity's ``attrs`` fields (nested attrs classes,
like an outbox message's email, are flattened), so adding a field to a domain class
adds its column to every SQL store at once. A store supplies only what differs between
SQL dialects: how a value of each :class:`Kind` is written and read back (a
:class:`ValueCodec`) and its placeholder style::

    row = USERS.dump(user, codec)             # {"id": ..., "email": ..., ...}
    user = USERS.load(row, codec)             # from a row read by column name
    USERS.insert_sql(lambda name: f":{name}")  # INSERT INTO users (...) VALUES (:id, ...)

Nothing here talks to a database; only the standard library and attrs are imported.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import attrs

from afisha_core.domain import (
    AuditEntry,
    CalendarFeed,
    Event,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participation,
    TotpCredential,
    TotpRecoveryCode,
    User,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "AUDIT_LOG",
    "CALENDAR_FEEDS",
    "EVENTS",
    "NOTIFICATIONS",
    "OUTBOX",
    "PARTICIPATIONS",
    "RECOVERIES",
    "REGISTRATIONS",
    "SESSIONS",
    "TABLES",
    "TOTP_CREDENTIALS",
    "TOTP_RECOVERY_CODES",
    "USERS",
    "WEBHOOKS",
    "WEBHOOK_DELIVERIES",
    "Column",
    "Convert",
    "Kind",
    "Row",
    "Table",
    "ValueCodec",
    "dump_json",
    "load_json",
]

T = TypeVar("T")


class Kind(enum.Enum):
    """What a column holds, which decides how a dialect stores it."""

    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    UUID = "uuid"
    TIMESTAMP = "timestamp"
    ENUM = "enum"
    JSON = "json"
    """A small JSON value (a ``dict`` or ``tuple`` field), stored as its JSON text."""


Convert = Callable[[Any], Any]
"""One value to or from its stored form (never called with ``None``)."""


def dump_json(value: Any) -> str:
    """The stored text of a JSON column (compact, keys sorted), for the codecs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_json(text: Any) -> Any:
    """The value of a stored JSON column (text, or already decoded by the driver)."""
    return json.loads(text) if isinstance(text, str | bytes) else text


class ValueCodec(Protocol):
    """How one SQL dialect stores values of each :class:`Kind`.

    Each method returns the conversion for a kind, or ``None`` when the driver takes
    and gives the Python value as it is. A NULL is always ``None`` on both sides.
    """

    def dumper(self, kind: Kind) -> Convert | None:
        """Python value -> query parameter, for columns of ``kind``."""
        ...

    def loader(self, kind: Kind, enum_class: type[enum.Enum] | None) -> Convert | None:
        """Stored value -> Python value, for columns of ``kind`` (``enum_class`` for ENUM)."""
        ...


class Row(Protocol):
    """A result row read by column name (a dict, ``sqlite3.Row``, ...)."""

    def __getitem__(self, key: str, /) -> Any:
        """The value of the column ``key``."""
        ...


@attrs.frozen
class Column:
    """One column: its name, the attribute path it maps and what kind of value it holds."""

    name: str
    path: tuple[str, ...]
    kind: Kind
    nullable: bool
    enum: type[enum.Enum] | None = None


def _kind_of(annotation: Any) -> tuple[Kind, bool, type[enum.Enum] | None]:
    """The kind of a field's type, whether it admits ``None``, and its enum class."""
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"cannot map a column of type {annotation!r}")
        annotation = args[0]
    simple = {str: Kind.TEXT, int: Kind.INTEGER, bool: Kind.BOOLEAN, UUID: Kind.UUID}
    if typing.get_origin(annotation) in (dict, tuple):
        return Kind.JSON, nullable, None
    if annotation is datetime:
        return Kind.TIMESTAMP, nullable, None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Kind.ENUM, nullable, annotation
    if annotation in simple:
        return simple[annotation], nullable, None
    raise TypeError(f"cannot map a column of type {annotation!r}")


def _columns(
    cls: type[Any], renames: Mapping[str, str], prefix: tuple[str, ...] = ()
) -> list[Column]:
    found: list[Column] = []
    for field in attrs.fields(attrs.resolve_types(cls)):
        path = (*prefix, field.name)
        if isinstance(field.type, type) and attrs.has(field.type):
            found.extend(_columns(field.type, renames, path))
            continue
        kind, nullable, enum_class = _kind_of(field.type)
        dotted = ".".join(path)
        found.append(Column(renames.get(dotted, dotted), path, kind, nullable, enum_class))
    return found


class Table(Generic[T]):
    """Where an entity of class ``cls`` is stored, column by column.

    ``renames`` gives a column a name other than its attribute path (``"email.to"`` of
    an outbox message is the ``recipient`` column). ``key`` names the primary key columns.
    """

    def __init__(
        self,
        name: str,
        cls: type[T],
        *,
        key: Iterable[str] = ("id",),
        renames: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.cls = cls
        self.key = tuple(key)
        self.columns = tuple(_columns(cls, renames or {}))
        self.names = tuple(c.name for c in self.columns)
        self._plans: dict[int, _Plan] = {}
        unknown = set(self.key) - set(self.names)
        if unknown:
            raise ValueError(f"{name}: key columns {sorted(unknown)} are not columns")

    def __repr__(self) -> str:
        return f"Table({self.name!r}, {self.cls.__name__})"

    # --- SQL text ----------------------------------------------------------------

    @property
    def column_list(self) -> str:
        """``"id, email, ..."``: every column, in order."""
        return ", ".join(self.names)

    def aliased(self, alias: str) -> str:
        """``"u.id AS u_id, u.email AS u_email, ..."``, for a join (read with ``prefix``)."""
        return ", ".join(f"{alias}.{n} AS {alias}_{n}" for n in self.names)

    def insert_sql(self, placeholder: Callable[[str], str]) -> str:
        """``INSERT INTO <table> (<columns>) VALUES (<placeholders>)``."""
        values = ", ".join(placeholder(n) for n in self.names)
        return f"INSERT INTO {self.name} ({self.column_list}) VALUES ({values})"  # noqa: S608

    def update_sql(self, placeholder: Callable[[str], str]) -> str:
        """``UPDATE <table> SET <every non-key column> WHERE <key>``."""
        sets = ", ".join(f"{n} = {placeholder(n)}" for n in self.names if n not in self.key)
        where = " AND ".join(f"{n} = {placeholder(n)}" for n in self.key)
        return f"UPDATE {self.name} SET {sets} WHERE {where}"  # noqa: S608

    # --- values ------------------------------------------------------------------

    def dump(self, entity: T, codec: ValueCodec) -> dict[str, Any]:
        """The entity as query parameters, by column name."""
        row: dict[str, Any] = {}
        for name, path, convert in self._plan(codec).dumpers:
            value: Any = entity
            for part in path:
                value = getattr(value, part)
            row[name] = value if value is None or convert is None else convert(value)
        return row

    def load(self, row: Row, codec: ValueCodec, prefix: str = "") -> T:
        """The entity in ``row`` (columns read as ``prefix + name``)."""
        plan = self._plan(codec)
        if not plan.nested:  # the common case, kept tight: entities are loaded per row
            flat = {
                attr: raw
                if (raw := row[prefix + name]) is None or convert is None
                else convert(raw)
                for name, attr, convert in plan.flat_loaders
            }
            if not plan.trusted:
                return self.cls(**flat)
            # Rows were validated when they were written: set the fields as they are.
            entity: T = _new(self.cls)
            for attr, value in flat.items():
                _set(entity, attr, value)
            return entity
        values: dict[str, Any] = {}
        for name, path, convert in plan.loaders:
            raw = row[prefix + name]
            value = raw if raw is None or convert is None else convert(raw)
            if len(path) == 1:
                values[path[0]] = value
                continue
            target = values
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = value
        return _build(self.cls, values)

    def reader(self, codec: ValueCodec, prefix: str = "") -> Callable[[Row], T]:
        """A function reading the entity of a row with ``codec`` (for row-mapping helpers)."""

        def read(row: Row) -> T:
            return self.load(row, codec, prefix)

        return read

    def _plan(self, codec: ValueCodec) -> _Plan:
        plan = self._plans.get(id(codec))
        if plan is None:
            plan = _Plan(
                dumpers=[(c.name, c.path, codec.dumper(c.kind)) for c in self.columns],
                loaders=[(c.name, c.path, codec.loader(c.kind, c.enum)) for c in self.columns],
                flat_loaders=[
                    (c.name, c.path[0], codec.loader(c.kind, c.enum)) for c in self.columns
                ],
                nested=any(len(c.path) > 1 for c in self.columns),
                trusted=_settable(self.cls),
            )
            self._plans[id(codec)] = plan
        return plan


@attrs.frozen
class _Plan:
    """A table's conversions for one codec, worked out once."""

    dumpers: list[tuple[str, tuple[str, ...], Convert | None]]
    loaders: list[tuple[str, tuple[str, ...], Convert | None]]
    flat_loaders: list[tuple[str, str, Convert | None]]
    """``(column, attribute, convert)``: the loaders of a table without nested fields."""
    nested: bool
    trusted: bool
    """Whether a loaded row may skip ``__init__`` (see :func:`_settable`)."""


_new = object.__new__
_set = object.__setattr__


def _settable(cls: type[Any]) -> bool:
    """Whether an instance of ``cls`` is fully made by setting its fields one by one.

    True for an attrs class whose ``__init__`` only checks values (validators): no
    converter and no ``__attrs_post_init__``. Loading a stored row then skips the
    checks, which the row passed when it was written.
    """
    fields = attrs.fields(cls)
    return not hasattr(cls, "__attrs_post_init__") and all(f.converter is None for f in fields)


def _build(cls: type[T], values: dict[str, Any]) -> T:
    fields = attrs.fields_dict(cls)  # type: ignore[arg-type]
    for name, value in list(values.items()):
        nested = fields[name].type
        if isinstance(value, dict) and isinstance(nested, type) and attrs.has(nested):
            values[name] = _build(nested, value)
    return cls(**values)


USERS: Table[User] = Table("users", User)
SESSIONS: Table[LoginSession] = Table("login_sessions", LoginSession, key=("uid",))
REGISTRATIONS: Table[IssuedRegistration] = Table("registrations", IssuedRegistration)
RECOVERIES: Table[IssuedLoginRecovery] = Table("login_recoveries", IssuedLoginRecovery)
EVENTS: Table[Event] = Table("events", Event)
PARTICIPATIONS: Table[Participation] = Table(
    "participations", Participation, key=("event_id", "user_id")
)
NOTIFICATIONS: Table[InstantNotification] = Table("notifications", InstantNotification)
OUTBOX: Table[OutboxMessage] = Table(
    "outbox",
    OutboxMessage,
    renames={
        "email.to": "recipient",
        "email.subject": "subject",
        "email.text": "text_body",
        "email.html": "html_body",
    },
)
TOTP_CREDENTIALS: Table[TotpCredential] = Table(
    "totp_credentials", TotpCredential, key=("user_id",)
)
TOTP_RECOVERY_CODES: Table[TotpRecoveryCode] = Table("totp_recovery_codes", TotpRecoveryCode)
AUDIT_LOG: Table[AuditEntry] = Table("audit_log", AuditEntry)
CALENDAR_FEEDS: Table[CalendarFeed] = Table("calendar_feeds", CalendarFeed, key=("user_id",))
WEBHOOKS: Table[Webhook] = Table("webhooks", Webhook)
WEBHOOK_DELIVERIES: Table[WebhookDelivery] = Table("webhook_deliveries", WebhookDelivery)
TABLES: tuple[Table[Any], ...] = (
    USERS,
    SESSIONS,
    REGISTRATIONS,
    RECOVERIES,
    EVENTS,
    PARTICIPATIONS,
    NOTIFICATIONS,
    OUTBOX,
    TOTP_CREDENTIALS,
    TOTP_RECOVERY_CODES,
    AUDIT_LOG,
    CALENDAR_FEEDS,
    WEBHOOKS,
    WEBHOOK_DELIVERIES,
)
"""Every entity table, parents first."""
