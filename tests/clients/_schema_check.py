"""Checking real responses against the OpenAPI document with a strict JSON Schema validator.

Every response of a journey is matched to its operation (method and path template),
its status must be documented, its media type must be one the document names for that
status, and a JSON body must validate against the schema there with JSON Schema 2020-12
and format checking (``date-time`` and ``uuid`` included).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import httpx
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["SchemaCheck"]

_DOCUMENT_URI = "urn:afisha:openapi"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@attrs.define
class SchemaCheck:
    """Validates responses against ``document``; collects what it saw and what failed."""

    document: dict[str, Any]
    checked: list[str] = attrs.field(factory=list)
    violations: list[str] = attrs.field(factory=list)
    _registry: Registry[Any] = attrs.field(init=False)
    _routes: list[tuple[re.Pattern[str], str]] = attrs.field(init=False)
    _formats: FormatChecker = attrs.field(factory=FormatChecker)

    def __attrs_post_init__(self) -> None:
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(_DOCUMENT_URI, resource)
        self._routes = [
            (re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in self.document["paths"]
        ]
        # Without these checkers a wrong date-time or uuid would pass unseen.
        missing = {"date-time", "uuid"} - set(self._formats.checkers)
        assert not missing, f"the format checker cannot check {missing}"

    def errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        """What is wrong with ``value`` under ``schema``, a ``$ref`` into the document."""
        ref = schema.get("$ref", "")
        assert ref.startswith("#/"), schema
        validator = Draft202012Validator(
            {"$ref": _DOCUMENT_URI + ref}, registry=self._registry, format_checker=self._formats
        )
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(value)]

    def _template(self, path: str) -> str | None:
        matches = [template for pattern, template in self._routes if pattern.match(path)]
        # "/v1/sessions/current" matches "/v1/sessions/{uid}" too: the literal one wins.
        return min(matches, key=lambda t: t.count("{")) if matches else None

    def __call__(self, response: httpx.Response) -> None:
        """An httpx response hook: check ``response``."""
        response.read()
        request = response.request
        method = request.method.lower()
        # As sent: a path parameter's "/" is %2F there, so it stays one segment.
        path = request.url.raw_path.split(b"?")[0].decode("ascii")
        name = f"{request.method} {path} -> {response.status_code}"
        template = self._template(path)
        operation = self.document["paths"].get(template or "", {}).get(method)
        if template is None or operation is None:
            self.violations.append(f"{name}: no such operation in the document")
            return
        self.checked.append(f"{operation['operationId']} {response.status_code}")
        described = operation["responses"].get(str(response.status_code))
        if described is None:
            self.violations.append(f"{name}: status not documented")
            return
        content = described.get("content", {})
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if not content:
            if response.content:
                self.violations.append(f"{name}: a body where the document says none")
            return
        if media not in content:
            self.violations.append(f"{name}: {media!r} is not one of {sorted(content)}")
            return
        if media != "application/json" and not media.endswith("+json"):
            return
        pointer = _pointer(
            "paths", template, method, "responses", str(response.status_code), "content", media
        )
        schema = {"$ref": f"{_DOCUMENT_URI}#/{pointer}/schema"}
        validator = Draft202012Validator(
            schema, registry=self._registry, format_checker=self._formats
        )
        for error in validator.iter_errors(json.loads(response.content)):
            self.violations.append(f"{name}: {error.json_path}: {error.message}")
