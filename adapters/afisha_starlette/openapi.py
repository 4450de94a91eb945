"""The OpenAPI 3.1 document, generated from the endpoints and their attrs classes."""

from __future__ import annotations

import enum
import re
import types
import typing
from datetime import datetime
from typing import Any, Union
from uuid import UUID

import attrs

from afisha_starlette.endpoints import Endpoint
from afisha_starlette.schemas import Problem

__all__ = ["openapi_document", "schema_of"]

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


def schema_of(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a Python type; attrs classes go to ``components``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        options = [schema_of(a, components) for a in args if a is not type(None)]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        if type(None) in args:
            if "type" in schema and isinstance(schema["type"], str):
                schema = {**schema, "type": [schema["type"], "null"]}
            elif "$ref" in schema:
                schema = {"anyOf": [schema, {"type": "null"}]}
            else:
                schema = {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}]}
        return schema
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
        return {"type": "string", "enum": [m.value for m in tp]}
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
    return schema


def _operation_id(endpoint: Endpoint) -> str:
    words = re.sub(r"[{}]", "", endpoint.path).strip("/").replace("-", "_").replace(".", "_")
    return endpoint.method.lower() + "_" + re.sub(r"[/_]+", "_", words)


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
    errors = set(ep.errors) | {503}
    if ep.access != "anyone":
        errors |= {401}
    if ep.access == "admin":
        errors |= {403}
    if ep.body is not None:
        errors |= {400, 413, 415, 422}
    if ep.query:
        errors |= {422}
    for status in sorted(errors):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {"application/problem+json": {"schema": problem_ref}},
        }
    return responses


def openapi_document(endpoints: list[Endpoint], *, version: str, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``endpoints``."""
    components: dict[str, Any] = {}
    problem_ref = schema_of(Problem, components)
    paths: dict[str, Any] = {}
    for ep in endpoints:
        operation: dict[str, Any] = {
            "operationId": _operation_id(ep),
            "summary": ep.summary,
            "tags": [ep.tag],
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)(?::\w+)?}", ep.path)
        ]
        params += [
            {
                "name": q.name,
                "in": "query",
                "required": False,
                "schema": q.schema,
                "description": q.description,
            }
            for q in ep.query
        ]
        if params:
            operation["parameters"] = params
        if ep.access != "anyone":
            operation["security"] = [{"bearer": []}]
        if ep.body is not None:
            operation["requestBody"] = {
                "required": ep.body_required,
                "content": {
                    media: {"schema": schema_of(ep.body, components)}
                    if media == "application/json"
                    else {"schema": {"type": "string", "format": "binary"}}
                    for media in ep.body_media
                },
            }
        operation["responses"] = _responses(ep, problem_ref, components)
        paths.setdefault(ep.path.replace(":path", ""), {})[ep.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Afisha API",
            "version": version,
            "description": "Events, sign-ups with capacity and waitlists, reminders and "
            "notifications. Errors are RFC 9457 problem documents with a stable `code`.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
