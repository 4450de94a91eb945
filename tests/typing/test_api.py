"""The public surface: ``afisha_core.__all__`` is complete, documented and works."""

from __future__ import annotations

import ast
import asyncio
import inspect
import itertools
import types
from pathlib import Path

import pytest

import afisha_core
import afisha_core.testing
import afisha_core.testing.builders
from afisha_core import errors, ports
from tests.typing import api

CORE = Path(afisha_core.__file__).parent
PUBLIC_PACKAGES = [afisha_core, afisha_core.testing, afisha_core.testing.builders]


def _documented_values() -> set[str]:
    """Names assigned at module level in the core and followed by a docstring."""
    found: set[str] = set()
    for path in CORE.rglob("*.py"):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for statement, following in itertools.pairwise(body):
            targets: list[ast.expr] = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            documented = (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                and following.value.value.strip() != ""
            )
            if documented:
                found.update(t.id for t in targets if isinstance(t, ast.Name))
    return found


def _public(module: types.ModuleType) -> list[tuple[str, object]]:
    names: list[str] = module.__all__
    return [(name, getattr(module, name)) for name in names]


@pytest.mark.parametrize("module", PUBLIC_PACKAGES, ids=lambda m: m.__name__)
def test_all_names_exist_once_and_are_sorted(module: types.ModuleType) -> None:
    names: list[str] = module.__all__
    assert len(set(names)) == len(names)
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names what it lacks: {missing}"


@pytest.mark.parametrize("module", PUBLIC_PACKAGES, ids=lambda m: m.__name__)
def test_every_public_name_has_a_docstring(module: types.ModuleType) -> None:
    values = _documented_values()
    undocumented: list[str] = []
    for name, obj in _public(module):
        if inspect.isclass(obj) or inspect.isfunction(obj):
            # A class must document itself, not inherit a docstring from a base.
            own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if not (isinstance(own, str) and own.strip()):
                undocumented.append(name)
        elif name not in values:
            undocumented.append(name)
    assert not undocumented, f"undocumented public names: {undocumented}"


def test_the_public_surface_covers_every_error_and_port() -> None:
    """Each error class and port Protocol of the core is importable from the top."""
    public = set(afisha_core.__all__)
    for module in (errors, ports):
        for name in module.__all__:
            assert name in public, f"{module.__name__}.{name} is not in afisha_core.__all__"
            assert getattr(afisha_core, name) is getattr(module, name)


def test_helper_modules_are_private() -> None:
    """Implementation helpers live in underscore modules, not on the public path."""
    for name in ("pagination", "validation"):
        assert not (CORE / f"{name}.py").exists()
        assert (CORE / f"_{name}.py").exists()


def test_the_typed_usage_example_runs() -> None:
    """The code mypy checks in ``api.py`` also runs as written."""
    asyncio.run(api.main())
