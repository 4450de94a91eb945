"""Round trips and validation of the cattrs converter in afisha_core.serialization."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

from afisha_core.domain import (
    MAX_CODE_ATTEMPTS,
    Email,
    Event,
    EventView,
    InstantNotification,
    IssuedLoginRecovery,
    IssuedRegistration,
    LoginSession,
    OutboxMessage,
    Participant,
    Participation,
    User,
)
from afisha_core.errors import FieldError, ValidationFailed
from afisha_core.ports import DueReminder, EventQuery, RateLimitResult, StoredObject, UserQuery
from afisha_core.serialization import field_errors, make_converter, parse_datetime
from afisha_core.testing import strategies as afs

CONVERTER = make_converter()

CASES: list[tuple[st.SearchStrategy[Any], type[Any]]] = [
    (afs.users(), User),
    (afs.login_sessions(), LoginSession),
    (afs.registrations(), IssuedRegistration),
    (afs.recoveries(), IssuedLoginRecovery),
    (afs.events(), Event),
    (afs.event_views(), EventView),
    (afs.participations(), Participation),
    (afs.notifications(), InstantNotification),
    (afs.emails(), Email),
    (afs.outbox_messages(), OutboxMessage),
    (afs.participants(), Participant),
    (afs.user_queries(), UserQuery),
    (afs.event_queries(), EventQuery),
    (afs.due_reminders(), DueReminder),
    (afs.rate_limit_results(), RateLimitResult),
    (afs.stored_objects(), StoredObject),
]
IDS = [cls.__name__ for _, cls in CASES]


def _datetime_pairs(value: Any, raw: Any) -> Iterator[tuple[datetime, Any]]:
    """Every datetime inside ``value`` with what the converter made of it."""
    if isinstance(value, datetime):
        yield value, raw
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _datetime_pairs(getattr(value, field.name), raw[field.name])
    elif isinstance(value, tuple):
        for item, raw_item in zip(value, raw, strict=True):
            yield from _datetime_pairs(item, raw_item)


@pytest.mark.parametrize(("strategy", "cls"), CASES, ids=IDS)
@given(data=st.data())
def test_structure_inverts_unstructure(
    strategy: st.SearchStrategy[Any], cls: type[Any], data: st.DataObject
) -> None:
    value = data.draw(strategy)
    raw = CONVERTER.unstructure(value)
    assert CONVERTER.structure(raw, cls) == value
    # And through actual JSON text, as the adapters store and send it.
    assert CONVERTER.structure(json.loads(json.dumps(raw)), cls) == value


@pytest.mark.parametrize(("strategy", "cls"), CASES, ids=IDS)
@given(data=st.data())
def test_unstructured_form_is_json_with_utc_offsets(
    strategy: st.SearchStrategy[Any], cls: type[Any], data: st.DataObject
) -> None:
    value = data.draw(strategy)
    raw = CONVERTER.unstructure(value)
    json.dumps(raw, allow_nan=False)
    for moment, text in _datetime_pairs(value, raw):
        assert isinstance(text, str)
        assert text.endswith("+00:00")
        assert datetime.fromisoformat(text) == moment


def test_set_fields_are_sorted_lists() -> None:
    raw = CONVERTER.unstructure(EventQuery())
    assert raw["participant_statuses"] == ["PARTICIPATING", "WAITLISTED"]


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365)))
def test_timedelta_is_float_seconds(delta: timedelta) -> None:
    raw = CONVERTER.unstructure(delta)
    assert isinstance(raw, float)
    assert raw == delta.total_seconds()
    assert CONVERTER.structure(raw, timedelta) == delta


# --- datetimes ----------------------------------------------------------------------


@given(afs.utc_datetimes(), st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59))
def test_aware_datetimes_in_any_offset_become_utc(moment: datetime, minutes: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    parsed = CONVERTER.structure(local.isoformat(), datetime)
    assert parsed == moment
    assert parsed.tzinfo is UTC


@given(afs.utc_datetimes(), st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59))
def test_datetimes_are_written_in_utc(moment: datetime, minutes: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    assert CONVERTER.unstructure(local) == moment.isoformat()
    assert moment.isoformat().endswith("+00:00")


@given(afs.utc_datetimes())
def test_z_suffix_is_accepted(moment: datetime) -> None:
    text = moment.isoformat().replace("+00:00", "Z")
    assert CONVERTER.structure(text, datetime) == moment


@given(afs.utc_datetimes())
def test_naive_datetime_string_is_rejected(moment: datetime) -> None:
    naive = moment.replace(tzinfo=None).isoformat()
    with pytest.raises(ValueError, match="UTC offset"):
        CONVERTER.structure(naive, datetime)


@given(afs.users())
def test_naive_datetime_in_an_entity_names_the_field(user: User) -> None:
    raw = CONVERTER.unstructure(user)
    raw["created_at"] = user.created_at.replace(tzinfo=None).isoformat()
    with pytest.raises(cattrs.ClassValidationError) as info:
        CONVERTER.structure(raw, User)
    assert [e.field for e in field_errors(info.value)] == ["created_at"]


def test_naive_datetime_object_is_rejected() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        CONVERTER.structure(datetime(2030, 1, 1), datetime)  # noqa: DTZ001 - on purpose


def test_unstructuring_a_naive_datetime_fails() -> None:
    with pytest.raises(ValueError, match="naive"):
        CONVERTER.unstructure(EventQuery(starts_from=datetime(2030, 1, 1)))  # noqa: DTZ001


@pytest.mark.parametrize(
    "text",
    [
        "2030-01-01",
        "2030-01-01T10:00",
        "20300101T100000Z",
        "2030-01-01T10:00:00+0100",
        "2030-13-01T10:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "٢٠٣٠-01-01T10:00:00Z",
        "",
    ],
)
def test_malformed_datetimes_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every malformed input is a ValueError
        parse_datetime(text)


# --- invalid entities ---------------------------------------------------------------


def _errors_for(raw: dict[str, Any], cls: type[Any]) -> list[FieldError]:
    with pytest.raises(cattrs.ClassValidationError) as info:
        CONVERTER.structure(raw, cls)
    return field_errors(info.value)


@given(afs.events(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_event_ending_before_it_starts_is_rejected(event: Event, earlier: timedelta) -> None:
    raw = CONVERTER.unstructure(event)
    raw["ends_at"] = CONVERTER.unstructure(event.starts_at - earlier)
    assert _errors_for(raw, Event) == [
        FieldError("ends_at", "ends_at must be after starts_at", "before_start")
    ]


@given(afs.users())
def test_username_with_uppercase_is_rejected(user: User) -> None:
    raw = CONVERTER.unstructure(user)
    raw["username"] = "A" + user.username[1:]
    assert [e.field for e in _errors_for(raw, User)] == ["username"]


@given(afs.users(), st.sampled_from(["", "no-at-sign", "two@@example.org", "a b@c.de", "x@y"]))
def test_bad_email_is_rejected(user: User, bad: str) -> None:
    raw = CONVERTER.unstructure(user)
    raw["email"] = bad
    assert [e.field for e in _errors_for(raw, User)] == ["email"]


@given(afs.outbox_messages())
def test_nested_errors_carry_the_path(message: OutboxMessage) -> None:
    raw = CONVERTER.unstructure(message)
    raw["email"]["to"] = "not an address"
    assert [e.field for e in _errors_for(raw, OutboxMessage)] == ["email.to"]
    raw["email"] = CONVERTER.unstructure(message.email)
    raw["attempts"] = -1
    assert [e.field for e in _errors_for(raw, OutboxMessage)] == ["attempts"]


@given(
    afs.registrations(), st.integers(min_value=MAX_CODE_ATTEMPTS + 1) | st.integers(max_value=-1)
)
def test_attempts_out_of_range_are_rejected(
    registration: IssuedRegistration, attempts: int
) -> None:
    raw = CONVERTER.unstructure(registration)
    raw["attempts"] = attempts
    assert [e.field for e in _errors_for(raw, IssuedRegistration)] == ["attempts"]


@given(afs.events(), st.integers(max_value=0))
def test_capacity_below_one_is_rejected(event: Event, capacity: int) -> None:
    raw = CONVERTER.unstructure(event)
    raw["max_participants_count"] = capacity
    assert [e.field for e in _errors_for(raw, Event)] == ["max_participants_count"]


@given(afs.event_views())
def test_deep_paths_are_named(view: EventView) -> None:
    raw = CONVERTER.unstructure(view)
    raw["event"]["name"] = "   "
    raw["event"]["id"] = "not-a-uuid"
    errors = _errors_for(raw, EventView)
    assert {e.field for e in errors} == {"event.id"}  # fields are structured before validators
    raw["event"]["id"] = CONVERTER.unstructure(view.event.id)
    assert _errors_for(raw, EventView) == [
        FieldError("event.name", "name must not be empty", "blank")
    ]


def test_structuring_is_strict_about_primitive_types() -> None:
    raw: dict[str, Any] = {"include_rejected": "false", "limit": "5", "text": 7}
    errors = _errors_for(raw, EventQuery)
    assert {e.field: e.message for e in errors} == {
        "include_rejected": "must be true or false",
        "limit": "must be an integer",
        "text": "must be a string",
    }


def test_collection_and_tuple_errors_are_indexed() -> None:
    raw: dict[str, Any] = {
        "participant_statuses": ["PARTICIPATING", "MAYBE"],
        "after": ["2030-01-01T00:00:00Z", "nope"],
    }
    fields = {e.field for e in _errors_for(raw, EventQuery)}
    assert fields == {"participant_statuses[1]", "after[1]"}


def test_missing_field_is_reported() -> None:
    errors = _errors_for({"to": "a@example.org", "text": ""}, Email)
    assert errors == [FieldError("subject", "required field missing", "required")]


def test_non_object_input_is_reported_at_the_root() -> None:
    assert _errors_for(["not", "an", "object"], Email) == [  # type: ignore[arg-type]
        FieldError("$", "must be an object", "wrong_type")
    ]


def test_extra_keys_are_rejected_only_when_asked() -> None:
    raw = {"limit": 5, "surprise": True}
    assert CONVERTER.structure(raw, UserQuery) == UserQuery(limit=5)
    with pytest.raises(cattrs.ClassValidationError) as info:
        make_converter(forbid_extra_keys=True).structure(raw, UserQuery)
    assert field_errors(info.value) == [FieldError("surprise", "unknown field", "unknown_field")]


def test_field_errors_of_other_exceptions() -> None:
    failed = ValidationFailed.single("cursor", "is not a valid cursor")
    assert field_errors(failed) == failed.errors
    assert field_errors(ValueError("broken")) == [FieldError("$", "broken")]


# --- the strategies themselves ------------------------------------------------------


def _has_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def test_strategies_produce_cyrillic_text() -> None:
    name = find(afs.single_line_text(200, not_blank=True), _has_cyrillic)
    assert _has_cyrillic(name)


def test_strategies_reach_maximum_lengths() -> None:
    description = find(afs.multiline_text(20_000), lambda text: len(text) == 20_000)
    assert len(description) == 20_000
