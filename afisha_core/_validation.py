"""Turning the domain's invariants into field-by-field validation errors."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs

from afisha_core.errors import FieldError, ValidationFailed

__all__ = ["check_fields", "error_code"]


def error_code(exc: BaseException) -> str:
    """The stable code of a validator's error: its own, else ``wrong_type``/``invalid``."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    return "wrong_type" if isinstance(exc, TypeError) else "invalid"


def check_fields(cls: type[Any], values: dict[str, Any]) -> None:
    """Run the attrs validators of ``cls`` on ``values`` and report every failure.

    Each validator runs on its own (cross-field validators see the other values), so
    the caller learns about all bad fields at once. Raises :class:`ValidationFailed`
    naming each field; returns ``None`` when all are fine.
    """
    namespace = SimpleNamespace(**values)
    errors: list[FieldError] = []
    for field in attrs.fields(cls):
        if field.name not in values or field.validator is None:
            continue
        try:
            field.validator(namespace, field, values[field.name])
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append(FieldError(field.name, str(exc), error_code(exc)))
    if errors:
        raise ValidationFailed(errors)
