"""The OpenAPI 3.1 document, generated from the endpoints and their attrs classes.

The document is meant to be exact for generated clients and strict validators: a
nullable enum admits ``null``, every id is ``format: uuid``, public endpoints that
answer differently with a token declare the bearer scheme as optional, and every
error status lists the ``code`` values the server can send with it.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from datetime import datetime
from http import HTTPStatus
from typing import Any, Union
from uuid import UUID

import attrs

from afisha_core.errors import (
    AfishaError,
    Forbidden,
    NotAuthenticated,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from afisha_starlette.endpoints import Endpoint
from afisha_starlette.parsing import BadRequest
from afisha_starlette.problems import PROBLEM_TYPE
from afisha_starlette.schemas import EXAMPLES, Problem

__all__ = ["error_codes", "openapi_document", "schema_of"]

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Malformed body",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limited (see Retry-After)",
    503: "A backing service is unavailable (see Retry-After)",
}

#: Path parameters that are not ids (everything else named ``*_id`` or ``uid`` is a UUID).
_OPAQUE_PATH_PARAMS = {"registration_token", "recovery_token", "key", "name"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, written so that strict validators and generators agree."""
    if "type" in schema and isinstance(schema["type"], str) and "enum" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    if "$ref" in schema or "enum" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}]}


def _enum_schema(tp: type[enum.Enum], components: dict[str, Any]) -> dict[str, Any]:
    # A named component: generated clients make one enum type of it, and a nullable
    # one is ``anyOf: [$ref, null]``, which admits null.
    if tp.__name__ not in components:
        components[tp.__name__] = {"type": "string", "enum": [m.value for m in tp]}
        doc = (tp.__doc__ or "").strip().split("\n\n")[0]
        if doc:
            components[tp.__name__]["description"] = " ".join(doc.split())
    return {"$ref": f"#/components/schemas/{tp.__name__}"}


def schema_of(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a Python type; attrs classes and enums go to ``components``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        options = [schema_of(a, components) for a in args if a is not type(None)]
        schema: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
        return _nullable(schema) if type(None) in args else schema
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": schema_of(item, components)}
    if origin is dict:
        _key, value = typing.get_args(tp)
        return {"type": "object", "additionalProperties": schema_of(value, components)}
    if isinstance(tp, type) and attrs.has(tp):
        name = tp.__name__
        if name not in components:
            components[name] = {}  # placeholder against recursion
            components[name] = _object_schema(tp, components)
        return {"$ref": f"#/components/schemas/{name}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema(tp, components)
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string"},
        int: {"type": "integer"},
        bool: {"type": "boolean"},
        float: {"type": "number"},
        datetime: {"type": "string", "format": "date-time"},
        UUID: {"type": "string", "format": "uuid"},
    }
    if tp in simple:
        return dict(simple[tp])
    raise TypeError(f"no JSON Schema for {tp!r}")


def _object_schema(cls: type, components: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {}
    required = []
    for field in attrs.fields(cls):
        properties[field.name] = schema_of(hints[field.name], components)
        if field.default is attrs.NOTHING:
            required.append(field.name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    if doc:
        schema["description"] = " ".join(doc.split())
    if cls.__name__ in EXAMPLES:
        schema["examples"] = [EXAMPLES[cls.__name__]]
    return schema


def error_codes(ep: Endpoint) -> dict[int, list[type[AfishaError]]]:
    """Every error ``ep`` may answer with, by HTTP status, in a stable order."""
    found: list[type[AfishaError]] = [*ep.errors]
    if ep.access != "anyone" or ep.optional_auth:
        found.append(NotAuthenticated)
    if ep.access == "admin":
        found.append(Forbidden)
    if ep.body is not None:
        found += [BadRequest, PayloadTooLarge, UnsupportedMediaType]
        if ep.body is not bytes:
            found.append(ValidationFailed)
    if ep.query:
        found.append(ValidationFailed)
    if ep.uses_services:
        found.append(ServiceUnavailable)
    by_status: dict[int, list[type[AfishaError]]] = {}
    for error in found:
        listed = by_status.setdefault(error.status, [])
        if error.code not in {e.code for e in listed}:
            listed.append(error)
    return dict(sorted(by_status.items()))


def _problem_example(error: type[AfishaError]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + error.code,
        "title": HTTPStatus(error.status).phrase,
        "status": error.status,
        "detail": error.default_detail,
        "code": error.code,
    }
    if issubclass(error, ValidationFailed):
        body["errors"] = [
            {"field": "ends_at", "code": "before_start", "message": "must be after starts_at"}
        ]
    return body


def _responses(
    ep: Endpoint, problem_ref: dict[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    success: dict[str, Any] = {"description": _STATUS_TEXT.get(ep.status, "OK")}
    if ep.response is not None:
        success["content"] = {"application/json": {"schema": schema_of(ep.response, components)}}
        for media in ep.response_media[1:]:
            success["content"][media] = {"schema": {"type": "string"}}
    elif ep.status != 204 and ep.response_media:
        schema = ep.response_schema or {"type": "string"}
        success["content"] = {media: {"schema": schema} for media in ep.response_media}
    responses: dict[str, Any] = {str(ep.status): success}
    for status, cls in ep.other_responses:
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": schema_of(cls, components)}},
        }
    for status in ep.other_statuses:
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {media: {"schema": {"type": "string"}} for media in ep.response_media},
        }
    for status, errors in error_codes(ep).items():
        if str(status) in responses:
            continue
        codes = ", ".join(f"`{e.code}`" for e in errors)
        responses[str(status)] = {
            "description": f"{_STATUS_TEXT.get(status, 'Error')}; `code`: {codes}",
            "content": {
                "application/problem+json": {
                    "schema": problem_ref,
                    "examples": {
                        e.code: {"summary": e.code, "value": _problem_example(e)} for e in errors
                    },
                }
            },
        }
        if status == 401:
            responses[str(status)]["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}
            }
        if status in (429, 503):
            responses[str(status)]["headers"] = {
                "Retry-After": {
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "Seconds to wait before trying again.",
                }
            }
    return responses


def _path_parameter(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if name not in _OPAQUE_PATH_PARAMS:
        schema["format"] = "uuid"
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _request_body(ep: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for media in ep.body_media:
        if media == "application/json":
            content[media] = {"schema": schema_of(ep.body, components)}
        else:
            content[media] = {"schema": {"type": "string", "format": "binary"}}
    return {"required": ep.body_required, "content": content}


def _operation(ep: Endpoint, problem_ref: dict[str, Any], components: dict[str, Any]) -> Any:
    operation: dict[str, Any] = {
        "operationId": ep.name,
        "summary": ep.summary,
        "tags": [ep.tag],
    }
    if ep.description:
        operation["description"] = ep.description
    params = [_path_parameter(name) for name in re.findall(r"{(\w+)(?::\w+)?}", ep.path)]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "schema": q.schema,
            **({"description": q.description} if q.description else {}),
        }
        for q in ep.query
    ]
    if params:
        operation["parameters"] = params
    if ep.access != "anyone":
        operation["security"] = [{"bearer": []}]
    elif ep.optional_auth:
        operation["security"] = [{}, {"bearer": []}]
    else:
        operation["security"] = []
    if ep.body is not None:
        operation["requestBody"] = _request_body(ep, components)
    operation["responses"] = _responses(ep, problem_ref, components)
    return operation


_DESCRIPTION = """\
Events, sign-ups with capacity and waitlists, reminders and notifications.

Log in with `POST /v1/sessions` (or confirm a registration) and send the returned
`token` as `Authorization: Bearer <token>`. Public endpoints that answer differently
for a logged-in caller (`my_status` of an event) accept the token too.

Errors are RFC 9457 problem documents (`application/problem+json`) with a stable
machine-readable `code`; each response below lists the codes it can carry. Validation
errors (422) add `errors: [{field, message}]`.
"""


def openapi_document(endpoints: list[Endpoint], *, version: str, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``endpoints``."""
    components: dict[str, Any] = {}
    problem_ref = schema_of(Problem, components)
    paths: dict[str, Any] = {}
    tags: dict[str, None] = {}
    for ep in endpoints:
        tags.setdefault(ep.tag)
        operation = _operation(ep, problem_ref, components)
        paths.setdefault(ep.path.replace(":path", ""), {})[ep.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Afisha API",
            "version": version,
            "description": _DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": tag, "description": _TAGS.get(tag, tag)} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The `token` of `POST /v1/sessions` or of a confirmed "
                    "registration.",
                }
            },
        },
    }


_TAGS = {
    "accounts": "Registration and password recovery",
    "sessions": "Logging in and out",
    "users": "One's own account, and administrators' view of users",
    "events": "Events, pictures, calendar files and sign-ups",
    "notifications": "In-app notifications",
    "system": "Health, media, the docs page and this document",
    "pages": "Pages for people (HTML)",
    "webhooks": "Signed notices of changes to other systems (Standard Webhooks)",
}
