"""The public views: every entity becomes JSON types only, and never carries a secret."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afisha_core.public import public, to_json
from afisha_core.testing import strategies as s

SECRET_FIELDS = {"password_hash", "token_hash", "code_hash", "credential_version", "client_address"}
VIEWABLE = [s.users(), s.login_sessions(), s.event_views(), s.notifications(), s.participants()]


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    return set()


@settings(max_examples=80)
@given(entity=st.one_of(*VIEWABLE))
def test_a_public_view_is_plain_json_without_secrets(entity: Any) -> None:
    view = public(entity)
    data = to_json(entity)

    assert dataclasses.is_dataclass(view)
    assert json.loads(json.dumps(data)) == data  # only JSON types, no custom encoder
    assert not _keys(data) & SECRET_FIELDS
    for secret in ("password_hash", "token_hash"):
        hidden = getattr(getattr(entity, "user", entity), secret, None)
        if isinstance(hidden, str):
            assert hidden not in json.dumps(data)


@settings(max_examples=30)
@given(view=s.event_views())
def test_an_event_view_keeps_its_counts_and_status(view: Any) -> None:
    data = to_json(view)

    assert data["id"] == str(view.event.id)
    assert data["participants_count"] == view.participants_count
    assert data["my_status"] == (view.my_status.value if view.my_status else None)
    assert data["spots_left"] == view.spots_left


@pytest.mark.parametrize("entity", [object(), "text", 3])
def test_anything_else_has_no_public_view(entity: object) -> None:
    with pytest.raises(TypeError, match="no public view"):
        public(entity)  # type: ignore[call-overload]
