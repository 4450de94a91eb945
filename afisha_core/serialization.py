"""The cattrs converter adapters use to turn domain objects into JSON-ready data and back.

Build one with :func:`make_converter` (never use cattrs' global converter) and keep it
for the life of the adapter. The unstructured form is what :func:`json.dumps` accepts:

- ``UUID`` as its canonical string;
- ``datetime`` as an RFC 3339 string, always in UTC with an explicit ``+00:00``
  (structuring accepts any explicit offset, converts to UTC, and rejects naive values);
- enums by value, ``timedelta`` as float seconds, ``bytes`` as standard base64;
- sets (``frozenset``) as sorted lists, tuples and sequences as lists.

Structuring is strict: a string is never coerced into a number or a boolean, and every
attrs validator of the domain runs. Invalid data raises a
:class:`cattrs.ClassValidationError` whose leaves are the offending field errors
(including the domain validators' own, each attached to its field);
:func:`field_errors` turns it into a list of :class:`~afisha_core.errors.FieldError` for
the HTTP layer.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from datetime import UTC, datetime, timedelta
from typing import Any, get_origin
from uuid import UUID

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from afisha_core._validation import error_code
from afisha_core.errors import FieldError, ValidationFailed

__all__ = ["field_errors", "format_datetime", "make_converter", "parse_datetime"]

# RFC 3339 date-time: full date, "T" (or a space, which RFC 3339 also permits), full
# time with optional fraction, and a mandatory offset ("Z" or +hh:mm / -hh:mm).
_RFC3339_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_MAX_DATETIME_LENGTH = 40


def format_datetime(value: datetime) -> str:
    """Render an aware ``datetime`` as RFC 3339 in UTC (``...+00:00``).

    Raises :class:`ValueError` for a naive ``datetime``: its instant is unknown.
    """
    if value.tzinfo is UTC:  # what the stores give: no conversion needed
        return value.isoformat()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("cannot serialise a naive datetime; it needs a UTC offset")
    return value.astimezone(UTC).isoformat()


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 date-time with an explicit offset into an aware UTC ``datetime``.

    Raises :class:`ValueError` (with a message fit for an API client) when ``value``
    is not such a string, has no offset, or is out of range.
    """
    if len(value) > _MAX_DATETIME_LENGTH or _RFC3339_RE.fullmatch(value) is None:
        if _looks_naive(value):
            raise ValueError("must include a UTC offset (e.g. 2025-01-31T18:00:00+00:00 or ...Z)")
        raise ValueError("must be an RFC 3339 date-time, e.g. 2025-01-31T18:00:00+00:00")
    try:
        parsed = datetime.fromisoformat(value.upper().replace(" ", "T"))
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("is not a valid date-time (out of range)") from None


def _looks_naive(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


# --- structure / unstructure hooks ------------------------------------------------


def _structure_uuid(value: object, _type: object) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise TypeError("must be a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise ValueError("must be a UUID string") from None


def _structure_datetime(value: object, _type: object) -> datetime:
    if isinstance(value, datetime):
        # Database drivers hand back datetime objects; hold them to the same rule.
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must include a UTC offset")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise TypeError("must be an RFC 3339 date-time string")
    return parse_datetime(value)


def _unstructure_timedelta(value: timedelta) -> float:
    return value.total_seconds()


def _structure_timedelta(value: object, _type: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("must be a number of seconds")
    if not math.isfinite(value):
        raise ValueError("must be a finite number of seconds")
    try:
        return timedelta(seconds=value)
    except OverflowError:
        raise ValueError("is out of range") from None


def _unstructure_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _structure_bytes(value: object, _type: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError("must be a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("must be a base64 string") from None


def _structure_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    return value


def _structure_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def _structure_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("must be an integer")
    return value


def _structure_float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("must be a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


def _sorted_list(items: Iterable[Any]) -> list[Any]:
    """Unstructure a set as a list, sorted when its items allow it (stable output)."""
    values = list(items)
    try:
        return sorted(values)
    except TypeError:
        return values


def _is_attrs_class(cl: Any) -> bool:
    return attrs.has(get_origin(cl) or cl)


def _attrs_structure_factory(
    converter: cattrs.Converter,
) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """Wrap cattrs' generated attrs hooks so failing attrs validators name their field.

    cattrs structures each field, then calls the class; when an attrs validator raises
    in ``__init__``, cattrs reports it against the class as a whole. We then re-check
    each field's validator separately and report every failure under its field.
    """

    def factory(cl: Any) -> Callable[[Any, Any], Any]:
        inner = converter.gen_structure_attrs_fromdict(cl)

        def structure(obj: Any, _type: Any) -> Any:
            if not isinstance(obj, Mapping):
                raise ClassValidationError(
                    f"While structuring {_name(cl)}", [TypeError("must be an object")], cl
                )
            try:
                return inner(obj, cl)
            except ClassValidationError as exc:
                if not _is_construction_failure(exc):
                    raise
                errors = _validator_errors(converter, cl, obj)
                if not errors:
                    raise
                raise ClassValidationError(f"While structuring {_name(cl)}", errors, cl) from exc

        return structure

    return factory


def _name(cl: Any) -> str:
    return str(getattr(cl, "__qualname__", cl))


def _is_construction_failure(exc: ClassValidationError) -> bool:
    """Whether cattrs structured every field and the class itself refused the values."""
    with_notes, without = exc.group_exceptions()
    return not with_notes and len(without) == 1


def _validator_errors(
    converter: cattrs.Converter, cl: Any, obj: Mapping[str, Any]
) -> list[Exception]:
    """Run each attrs validator of ``cl`` on its own; the errors, each noted with its field."""
    if get_origin(cl) is not None:
        return []  # generic attrs classes (Page[T]) have no validators of their own
    fields = attrs.fields(attrs.resolve_types(cl))
    values: dict[str, Any] = {}
    for field in fields:
        if field.name in obj:
            values[field.name] = converter.structure(obj[field.name], field.type)
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            return []  # not used by the domain; let the original error stand
        elif field.default is attrs.NOTHING:
            return []
        else:
            values[field.name] = field.default
    # An instance that bypasses __init__, only so validators can read sibling fields.
    instance = object.__new__(cl)
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    errors: list[Exception] = []
    for field in fields:
        if field.validator is None:
            continue
        try:
            field.validator(instance, field, values[field.name])
        except Exception as exc:  # validators may raise anything; each one is reported
            exc.__notes__ = [
                *getattr(exc, "__notes__", []),
                AttributeValidationNote(
                    f"Validating class {_name(cl)} @ attribute {field.name}",
                    field.name,
                    field.type,
                ),
            ]
            errors.append(exc)
    return errors


def make_converter(*, forbid_extra_keys: bool = False) -> cattrs.Converter:
    """Build a new converter for the domain classes and port values (JSON-ready output).

    With ``forbid_extra_keys`` unknown keys in the input are an error (what an HTTP
    API wants); without it they are ignored (what stored documents want, so old
    readers survive new fields).
    """
    converter = cattrs.Converter(
        unstruct_collection_overrides={Set: _sorted_list, Sequence: list, tuple: list},
        forbid_extra_keys=forbid_extra_keys,
        detailed_validation=True,
    )
    converter.register_unstructure_hook(UUID, str)
    converter.register_structure_hook(UUID, _structure_uuid)
    converter.register_unstructure_hook(datetime, format_datetime)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(timedelta, _unstructure_timedelta)
    converter.register_structure_hook(timedelta, _structure_timedelta)
    converter.register_unstructure_hook(bytes, _unstructure_bytes)
    converter.register_structure_hook(bytes, _structure_bytes)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook_factory(_is_attrs_class, _attrs_structure_factory(converter))
    return converter


# --- errors for the HTTP layer ------------------------------------------------------


def field_errors(exc: Exception) -> list[FieldError]:
    """Turn a structuring error into field errors, each naming its field path.

    Paths use dots for nested classes and brackets for positions in lists, e.g.
    ``ends_at``, ``email.to``, ``after[0]``; an error about the input as a whole has
    the path ``$``. Accepts what :meth:`cattrs.Converter.structure` raises (and, for
    convenience, a :class:`~afisha_core.errors.ValidationFailed`, returning its
    errors); any other exception becomes one error at ``$``.
    """
    if isinstance(exc, ValidationFailed):
        return list(exc.errors)
    return _walk(exc, "")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(exc: BaseException, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(exc, ClassValidationError):
        attributed, rest = exc.group_exceptions()
        for sub, attr_note in attributed:
            errors.extend(_walk(sub, _join(path, attr_note.name)))
        for sub in rest:
            errors.extend(_walk(sub, path))
    elif isinstance(exc, IterableValidationError):
        indexed, rest = exc.group_exceptions()
        for sub, index_note in indexed:
            errors.extend(_walk(sub, f"{path}[{index_note.index!r}]"))
        for sub in rest:
            errors.extend(_walk(sub, path))
    elif isinstance(exc, BaseValidationError):
        for sub in exc.exceptions:
            errors.extend(_walk(sub, path))
    elif isinstance(exc, ForbiddenExtraKeysError):
        errors.extend(
            FieldError(_join(path, key), "unknown field", "unknown_field")
            for key in sorted(exc.extra_fields)
        )
    else:
        errors.append(FieldError(path or "$", _message(exc), _code(exc)))
    return errors


def _code(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "required"
    if isinstance(exc, ValueError) and str(exc).startswith(("Too many values", "Not enough")):
        return "wrong_length"
    return error_code(exc)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    text = str(exc)
    if isinstance(exc, TypeError) and text.endswith("object is not iterable"):
        return "must be a list"
    if isinstance(exc, ValueError) and text.startswith(("Too many values", "Not enough values")):
        return "has the wrong number of items"  # cattrs' message would echo the input
    if isinstance(exc, ValueError | TypeError) and text:
        return text
    return cattrs.v.format_exception(exc, None)
