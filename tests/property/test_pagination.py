"""Opaque cursors: round trips, and garbage of every kind is a ValidationFailed."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afisha_core._pagination import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor
from afisha_core.errors import FieldError, ValidationFailed
from afisha_core.testing.strategies import utc_datetimes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _assert_rejected(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(cursor)
    assert info.value.errors == [FieldError("cursor", "is not a valid cursor", "invalid_cursor")]


@given(utc_datetimes(), st.uuids())
def test_round_trip(moment: datetime, identifier: UUID) -> None:
    cursor = encode_cursor((moment, identifier))
    assert decode_cursor(cursor) == (moment, identifier)
    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(utc_datetimes(), st.uuids(), st.integers(min_value=-23 * 60, max_value=23 * 60))
def test_keys_in_other_offsets_decode_to_the_same_instant_in_utc(
    moment: datetime, identifier: UUID, minutes: int
) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    decoded, _ = decode_cursor(encode_cursor((local, identifier)))
    assert decoded == moment
    assert decoded.utcoffset() == timedelta(0)


def test_encoding_a_naive_key_fails() -> None:
    with pytest.raises(ValueError, match="naive"):
        encode_cursor((datetime(2030, 1, 1), UUID(int=1)))  # noqa: DTZ001 - on purpose


@given(st.text())
def test_any_text_is_rejected(garbage: str) -> None:
    _assert_rejected(garbage)


@given(st.binary())
def test_any_base64_bytes_are_rejected(garbage: bytes) -> None:
    _assert_rejected(_b64(garbage))


@given(st.binary().map(lambda data: base64.b64encode(data).decode("ascii")))
def test_standard_base64_with_padding_is_rejected(garbage: str) -> None:
    _assert_rejected(garbage)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@given(_JSON)
def test_any_json_of_the_wrong_shape_is_rejected(payload: Any) -> None:
    shaped = isinstance(payload, list) and len(payload) == 2
    if shaped and all(isinstance(part, str) for part in payload):
        payload = [*payload, "third"]
    _assert_rejected(_b64(json.dumps(payload).encode()))


@given(st.text(), st.text())
def test_two_arbitrary_strings_are_rejected(first: str, second: str) -> None:
    _assert_rejected(_b64(json.dumps([first, second]).encode()))


@given(utc_datetimes(), st.uuids())
def test_naive_datetime_is_rejected(moment: datetime, identifier: UUID) -> None:
    payload = [moment.replace(tzinfo=None).isoformat(), identifier.hex]
    _assert_rejected(_b64(json.dumps(payload).encode()))


@given(utc_datetimes(), st.text().filter(lambda text: len(text) != 32))
def test_bad_uuid_is_rejected(moment: datetime, bad: str) -> None:
    _assert_rejected(_b64(json.dumps([moment.isoformat(), bad]).encode()))


@given(utc_datetimes(), st.uuids())
def test_over_long_cursor_is_rejected_even_if_it_would_decode(
    moment: datetime, identifier: UUID
) -> None:
    padded = json.dumps([moment.isoformat(), identifier.hex], indent=80).encode()
    cursor = _b64(padded)
    assert len(cursor) > MAX_CURSOR_LENGTH
    _assert_rejected(cursor)


@pytest.mark.parametrize(
    "payload",
    [
        ["0001-01-01T00:00:00+01:00", "00000000000000000000000000000001"],
        ["9999-12-31T23:59:59-01:00", "00000000000000000000000000000001"],
        ["2030-01-01T00:00:00+00:00"],
        ["2030-01-01T00:00:00+00:00", 1],
        [1, "00000000000000000000000000000001"],
        {"0": "2030-01-01T00:00:00+00:00", "1": "00000000000000000000000000000001"},
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    ],
)
def test_edge_payloads_are_rejected(payload: Any) -> None:
    if isinstance(payload, str):
        _assert_rejected(_b64(payload.encode()))
    else:
        _assert_rejected(_b64(json.dumps(payload).encode()))


def test_invalid_utf8_is_rejected() -> None:
    _assert_rejected(_b64(b'["\xff\xfe", "x"]'))
