"""The documentation's sources: complete, consistent, and their links and code sound.

``nox -s docs`` builds the site with ``mkdocs build --strict`` (MkDocs is not part of
the test environment); these tests check what can be checked without it: the generated
HTTP API page covers every endpoint and schema, the configuration page every variable,
every page is in the navigation, relative links and anchors resolve, and the Python
snippets are valid Python.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.deploy.project_files import ROOT, variables_read_by_the_app, yaml_module

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.fixture(scope="module")
def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("afisha_docs_hooks", DOCS / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def document(hooks: ModuleType) -> dict[str, Any]:
    found: dict[str, Any] = hooks.openapi_document()
    return found


@pytest.fixture(scope="module")
def api_page(hooks: ModuleType, document: dict[str, Any]) -> str:
    page: str = hooks.render_api(document)
    return page


def test_the_api_page_comes_from_the_servers_own_document(document: dict[str, Any]) -> None:
    from afisha_starlette.routes import API_ENDPOINTS  # noqa: PLC0415

    served = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}

    assert document["openapi"].startswith("3.1")
    assert len(served) >= len(API_ENDPOINTS) > 20


def test_the_api_page_has_every_endpoint_and_schema(
    document: dict[str, Any], api_page: str
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            heading = f"### {method.upper()} {path} {{#{operation['operationId']}}}"
            assert heading in api_page, heading
    for name in document["components"]["schemas"]:
        assert f"### {name} {{#schema-{name.lower()}}}" in api_page, name


def test_the_api_pages_anchors_all_exist(api_page: str) -> None:
    defined = set(re.findall(r"\{#([\w-]+)\}", api_page))
    linked = set(re.findall(r"\]\(#([\w-]+)\)", api_page))

    assert linked
    assert linked <= defined


def test_the_configuration_page_explains_every_variable() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for name in variables_read_by_the_app():
        assert re.search(rf"^\| `{name}` \|", page, re.M), name


def nav_files(items: list[Any]) -> set[str]:
    found: set[str] = set()
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            found |= nav_files(value)
        else:
            found.add(str(value))
    return found


def test_every_page_is_in_the_navigation(hooks: ModuleType) -> None:
    config = yaml_module().safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = nav_files(config["nav"])
    pages = {str(page.relative_to(DOCS)) for page in PAGES}
    adapters = {page for page in pages if page.startswith("adapters/")}
    optional = set(hooks.OPTIONAL_PAGES)

    assert hooks.API_PAGE in listed
    assert {"Adapters": []} in config["nav"]  # filled by the hook with every adapters/ page
    assert listed - {hooks.API_PAGE} <= pages
    assert pages - listed == adapters | (optional & pages)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_relative_links_resolve(hooks: ModuleType, page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve()
        name = str(resolved.relative_to(DOCS.resolve()))
        if name in hooks.OPTIONAL_PAGES or name == hooks.API_PAGE:
            continue
        assert resolved.is_file(), f"{page.name}: {target}"
        if anchor:
            slugs = {_slug(h) for h in re.findall(r"^#+ (.+)$", resolved.read_text(), re.M)}
            assert anchor in slugs, f"{page.name}: {target}"


def _slug(heading: str) -> str:
    """The id Python-Markdown's toc extension gives a heading."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_python_snippets_are_valid_python(page: Path) -> None:
    for snippet in FENCE.findall(page.read_text(encoding="utf-8")):
        source = snippet.replace("[...]", "[]").replace("(...)", "()")
        compile(source, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
