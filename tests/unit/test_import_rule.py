"""The core imports nothing but the standard library, attrs, cattrs and Babel."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import afisha_core

CORE = Path(afisha_core.__file__).parent
ALLOWED = {"attrs", "cattrs", "babel", "afisha_core", "__future__"}
# Shipped for users' tests; they need the `testing` extra.
TESTING_EXTRA = {"hypothesis", "pytest", "pytest_asyncio", "_pytest"}
NEEDS_TESTING_EXTRA = ("testing/strategies.py", "testing/contracts/")


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_only_what_it_may(path: Path) -> None:
    relative = path.relative_to(CORE).as_posix()
    allowed = ALLOWED | set(sys.stdlib_module_names)
    if relative.startswith(NEEDS_TESTING_EXTRA):
        allowed |= TESTING_EXTRA
    forbidden = _top_level_imports(path) - allowed
    assert not forbidden, f"{relative} imports {sorted(forbidden)}"


def test_the_rule_catches_a_third_party_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom psycopg import sql\nimport attrs\n", encoding="utf-8")
    assert _top_level_imports(sample) - ALLOWED - set(sys.stdlib_module_names) == {"psycopg"}


def _loaded_top_level_modules(imports: list[str]) -> set[str]:
    code = (
        "import sys\n"
        f"for name in {imports!r}: __import__(name)\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(  # noqa: S603 - runs this interpreter on a fixed snippet
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_importing_the_core_and_its_fakes_loads_no_third_party_package() -> None:
    baseline = _loaded_top_level_modules([])  # what the interpreter loads by itself
    loaded = _loaded_top_level_modules(
        [
            "afisha_core",
            "afisha_core.app",
            "afisha_core.serialization",
            "afisha_core._pagination",
            "afisha_core.usecases",
            "afisha_core.testing",
        ]
    )
    # attrs is the `attr` package underneath; cattrs needs typing_extensions; Babel uses
    # pytz when it happens to be installed (it is no dependency of the core).
    allowed = ALLOWED | {"attr", "typing_extensions", "pytz"} | set(sys.stdlib_module_names)
    # sysconfig's data module is standard library under a platform-specific name.
    third_party = {m for m in loaded - baseline - allowed if not m.startswith("_sysconfigdata")}
    assert not third_party, f"importing the core loaded {sorted(third_party)}"


ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
# The composition root is the one place that wires adapters together: the afisha_server
# package (configuration, wiring, the `afisha` command and the ASGI entry points).
COMPOSITION_PACKAGES = {"afisha_server"}


def _adapter_modules() -> list[Path]:
    return sorted(ADAPTERS.glob("afisha_*/**/*.py"))


@pytest.mark.parametrize("path", _adapter_modules(), ids=lambda p: str(p.relative_to(ADAPTERS)))
def test_an_adapter_never_imports_another_adapter(path: Path) -> None:
    relative = path.relative_to(ADAPTERS).as_posix()
    if relative.split("/")[0] in COMPOSITION_PACKAGES:
        return
    own = relative.split("/")[0]
    others = {
        name
        for name in _top_level_imports(path)
        if name.startswith("afisha_") and name not in {own, "afisha_core"}
    }
    assert not others, f"{relative} imports the adapters {sorted(others)}"


def test_the_adapter_rule_sees_every_adapter() -> None:
    names = {p.relative_to(ADAPTERS).parts[0] for p in _adapter_modules()}
    assert names >= {
        "afisha_postgres",
        "afisha_sqlite",
        "afisha_redis",
        "afisha_smtp",
        "afisha_obstore",
        "afisha_argon2",
        "afisha_starlette",
        "afisha_apscheduler",
        "afisha_httpx",
        "afisha_server",
    }
