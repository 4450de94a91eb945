"""MkDocs hooks of this site (``hooks:`` in mkdocs.yml); the ``docs`` nox session runs them.

- ``api.md`` is generated at build time from the OpenAPI document that the server
  itself serves: :func:`openapi_document` asks the ASGI app of
  ``afisha_starlette.app.create_app`` for ``GET /openapi.json``, and
  :func:`render_api` turns it into Markdown. It is never stale, and never committed.
- The "Adapters" section of the navigation lists every ``adapters/*.md`` page there is,
  so a new adapter page needs no edit of mkdocs.yml.
- Pages written elsewhere (``security.md``, ``performance.md``) join the navigation when
  they exist; while one does not, links to it are shown as plain text, so the strict
  build passes either way.
- After the build, any page that loads a script or a stylesheet from another host fails
  it: the site works offline.

Nothing here imports MkDocs at module level, so the tests can import the renderer.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

__all__ = [
    "OPTIONAL_PAGES",
    "on_config",
    "on_files",
    "on_page_markdown",
    "on_post_build",
    "openapi_document",
    "render_api",
]

#: Pages other people write, with their title, and the page they follow in the nav.
OPTIONAL_PAGES = {
    "security.md": ("Security model", "security-notes.md"),
    "performance.md": ("Performance", "deployment.md"),
}
API_PAGE = "api.md"
ADAPTERS_SECTION = "Adapters"

_EXTERNAL_ASSET = re.compile(
    r"<(?:script[^>]*\ssrc|link[^>]*\shref)=[\"'](?:https?:)?//", re.IGNORECASE
)
_TITLE = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)
_METHOD_ORDER = ("get", "post", "put", "patch", "delete")


# --- the HTTP API page ------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The document ``GET /openapi.json`` answers, asked of the app itself over ASGI."""
    from afisha_starlette.app import create_app  # noqa: PLC0415 - only when building docs

    app = create_app()
    received: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        received.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/openapi.json",
        "raw_path": b"/openapi.json",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8080")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]  # plain dicts are ASGI
    status = next(m["status"] for m in received if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in received if m["type"] == "http.response.body")
    if status != 200:
        raise RuntimeError(f"GET /openapi.json answered {status}: {body[:200]!r}")
    document: dict[str, Any] = json.loads(body)
    return document


def _schema_anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def _type_of(schema: dict[str, Any]) -> str:
    """A short Markdown description of a JSON Schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_schema_anchor(name)})"
    if "anyOf" in schema:
        return " or ".join(_type_of(option) for option in schema["anyOf"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    words = []
    for kind in kinds:
        if kind == "array":
            words.append(f"array of {_type_of(schema.get('items', {}))}")
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            words.append(f"object of {_type_of(schema['additionalProperties'])}")
        elif kind == "string" and "format" in schema:
            words.append(f"string ({schema['format']})")
        else:
            words.append(str(kind))
    text = " or ".join(words)
    if "enum" in schema:
        text += ": " + ", ".join(f"`{value}`" for value in schema["enum"])
    return text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _access(operation: dict[str, Any]) -> str:
    security = operation.get("security") or []
    if not security:
        return "anyone"
    if {} in security:
        return "anyone (a token adds the caller's own view)"
    return "administrators" if "403" in operation["responses"] else "signed-in users"


def _error_codes(response: dict[str, Any]) -> list[str]:
    """The ``code`` values an error response lists (its examples are named by code)."""
    content = response.get("content", {}).get("application/problem+json", {})
    return list(content.get("examples", {}))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operations[method])
        for path, operations in document["paths"].items()
        for method in _METHOD_ORDER
        if method in operations
    ]


def _render_operation(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    out = [f"### {method} {path} {{#{operation['operationId']}}}", ""]
    out += [f"{operation.get('summary', '')}.", "", f"**Who**: {_access(operation)}.", ""]
    parameters = operation.get("parameters", [])
    if parameters:
        out += ["| parameter | in | type | description |", "|---|---|---|---|"]
        out += [
            f"| `{p['name']}` | {p['in']} | {_type_of(p.get('schema', {}))} "
            f"| {_cell(p.get('description', ''))} |"
            for p in parameters
        ]
        out.append("")
    body = operation.get("requestBody")
    if body:
        need = "required" if body.get("required") else "optional"
        kinds = [f"`{media}`: {_type_of(c['schema'])}" for media, c in body["content"].items()]
        out += [f"**Body** ({need}): " + "; ".join(kinds) + ".", ""]
    successes, errors = [], []
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            content = response.get("content", {})
            shapes = "; ".join(f"`{m}`: {_type_of(c['schema'])}" for m, c in content.items())
            shown = f"`{status}` {response['description']}"
            successes.append(f"{shown}, {shapes}" if shapes else shown)
        else:
            codes = ", ".join(f"`{code}`" for code in _error_codes(response))
            errors.append(f"`{status}` ({codes})" if codes else f"`{status}`")
    out += ["**Success**: " + "; ".join(successes) + ".", ""]
    if errors:
        out += ["**Errors** (problem documents): " + ", ".join(errors) + ".", ""]
    return out


def _render_schema(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f"### {name} {{#{_schema_anchor(name)}}}", ""]
    if schema.get("description"):
        out += [schema["description"], ""]
    if "enum" in schema:
        out += ["One of " + ", ".join(f"`{value}`" for value in schema["enum"]) + ".", ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        out += ["| field | type | required |", "|---|---|---|"]
        out += [
            f"| `{field}` | {_type_of(spec)} | {'yes' if field in required else 'no'} |"
            for field, spec in properties.items()
        ]
        out.append("")
    return out


def _render_error_codes(operations: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Every error ``code`` with its status and the operations that can answer it."""
    found: dict[tuple[str, str], list[str]] = {}
    for _method, _path, op in operations:
        for status, response in op["responses"].items():
            for code in _error_codes(response):
                found.setdefault((code, status), []).append(op["operationId"])
    out = [
        "## Error codes",
        "",
        "Every error is a problem document whose `code` is one of these; it never changes "
        "with the language of `detail`. Clients should branch on `code`, not on `detail`.",
        "",
        "| code | status | answered by |",
        "|---|---|---|",
    ]
    for (code, status), names in sorted(found.items()):
        where = (
            "every endpoint that needs it"
            if len(names) > 8
            else ", ".join(f"[`{name}`](#{name})" for name in names)
        )
        out.append(f"| `{code}` | {status} | {where} |")
    return [*out, ""]


def render_api(document: dict[str, Any]) -> str:
    """The HTTP API page, in Markdown, from an OpenAPI 3.1 document."""
    info = document["info"]
    operations = _operations(document)
    out = [
        "# HTTP API",
        "",
        f"{info['description']}",
        "",
        f"This page is generated when the documentation is built, from the OpenAPI "
        f"{document['openapi']} document that the server serves at `GET /openapi.json` "
        f"(API version {info['version']}). A running server also shows it at `/docs` in "
        "Swagger UI (shipped with the server, no outside asset), where each operation can "
        "be tried out after logging in with **Authorize** and a session token. "
        "Besides the endpoints below, `GET /healthz` answers 200 while the process is up, "
        "and `GET /readyz` answers 200 when the database, the storage, the rate limiter and "
        "the mailer all answer, or 503 naming those that do not.",
        "",
        "Conventions: JSON in and out, field names in snake_case, datetimes in RFC 3339 "
        "with an explicit offset. Authenticated endpoints take "
        "`Authorization: Bearer <session token>`. Lists are `{items, next_cursor}` pages "
        "with `limit` (1 to 100, default 20) and an opaque `cursor`. Every error is an "
        "RFC 9457 problem document (`application/problem+json`) with a stable `code`; see "
        "[Problem](#schema-problem).",
        "",
        "## Endpoints",
        "",
        "| method | path | who | what |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {method} | [`{path}`](#{op['operationId']}) | {_access(op)} "
        f"| {_cell(op.get('summary', ''))} |"
        for method, path, op in operations
    ]
    out.append("")
    tags: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for method, path, op in operations:
        tags.setdefault(op["tags"][0] if op.get("tags") else "other", []).append((method, path, op))
    for tag, tagged in tags.items():
        out += [f"## {tag.capitalize()}", ""]
        for method, path, op in tagged:
            out += _render_operation(method, path, op)
    out += _render_error_codes(operations)
    out += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        out += _render_schema(name, schema)
    return "\n".join(out).rstrip() + "\n"


# --- the MkDocs events ------------------------------------------------------------------


def _title(page: Path) -> str:
    match = _TITLE.search(page.read_text(encoding="utf-8"))
    return match.group(1).replace("`", "") if match else page.stem


def _insert_after(nav: list[Any], after: str, entry: dict[str, str]) -> None:
    for index, item in enumerate(nav):
        if isinstance(item, dict) and after in item.values():
            nav.insert(index + 1, entry)
            return
    nav.append(entry)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Fill the Adapters section, and add the optional pages that exist."""
    docs = Path(config.docs_dir)
    nav: list[Any] = config.nav or []
    adapters = [
        {_title(page): f"adapters/{page.name}"} for page in sorted((docs / "adapters").glob("*.md"))
    ]
    for item in nav:
        if isinstance(item, dict) and ADAPTERS_SECTION in item:
            item[ADAPTERS_SECTION] = adapters
    for name, (title, after) in OPTIONAL_PAGES.items():
        if (docs / name).is_file():
            _insert_after(nav, after, {title: name})
    config.nav = nav
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated HTTP API page."""
    from mkdocs.structure.files import File  # noqa: PLC0415 - MkDocs is there when it calls

    files.append(File.generated(config, API_PAGE, content=render_api(openapi_document())))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Show links to optional pages that do not exist as plain text."""
    docs = Path(config.docs_dir)
    for name in OPTIONAL_PAGES:
        if not (docs / name).is_file():
            pattern = r"\[([^\]]+)\]\((?:\.\./)*" + re.escape(name) + r"(?:#[^)]*)?\)"
            markdown = re.sub(pattern, r"\1", markdown)
    return markdown


def on_post_build(config: MkDocsConfig) -> None:
    """Fail the build when a page loads a script or a stylesheet from the network."""
    from mkdocs.exceptions import PluginError  # noqa: PLC0415

    site = Path(config.site_dir)
    online = sorted(
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if _EXTERNAL_ASSET.search(page.read_text(encoding="utf-8"))
    )
    if online:
        raise PluginError(f"pages load assets from the network: {', '.join(online)}")
