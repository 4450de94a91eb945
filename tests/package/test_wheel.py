"""The wheel holds what it must (and nothing else), installs cleanly and runs.

The wheel is built from the working tree into a scratch folder, checked file by file,
then installed with the ``server`` extra into a fresh virtual environment (dependencies
come from the package index) and used from outside the repository: ``import
afisha_core``, ``afisha --help``, and ``afisha migrate`` on SQLite, which needs the
migrations packaged inside ``afisha_sqlite``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "afisha_core",
    "afisha_postgres",
    "afisha_sqlite",
    "afisha_redis",
    "afisha_smtp",
    "afisha_obstore",
    "afisha_argon2",
    "afisha_starlette",
    "afisha_apscheduler",
    "afisha_server",
)
BUILD_TIMEOUT = 300
INSTALL_TIMEOUT = 600


def source_version() -> str:
    text = (ROOT / "afisha_core" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert match is not None
    return match.group(1)


def outside_env() -> dict[str, str]:
    """This environment, minus anything that would make the repository importable."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AFISHA_", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"))
    }


def run(*command: str | Path, cwd: Path, timeout: float, **env: str) -> str:
    result = subprocess.run(  # noqa: S603 - the interpreters and tools of this test
        [str(part) for part in command],
        cwd=cwd,
        env={**outside_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out, ROOT,
        cwd=out, timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    (built,) = out.glob("afisha_core-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def read(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name).decode()


def test_the_wheel_is_named_for_the_source_version(wheel: Path) -> None:
    assert wheel.name == f"afisha_core-{source_version()}-py3-none-any.whl"


def test_every_package_is_typed(names: list[str]) -> None:
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names, package
        assert f"{package}/py.typed" in names, package


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_the_migrations_are_inside_their_adapter(names: list[str], dialect: str) -> None:
    expected = {
        f"afisha_{dialect}/migrations/{path.name}"
        for path in (ROOT / "migrations" / dialect).glob("*.sql")
    }
    packaged = {
        name
        for name in names
        if name.startswith(f"afisha_{dialect}/migrations/") and name.endswith(".sql")
    }

    assert expected
    assert packaged == expected


def test_the_docs_page_and_the_shipped_test_support_are_inside(names: list[str]) -> None:
    assert "afisha_starlette/docs_page.py" in names  # what GET /docs serves
    assert "afisha_core/testing/strategies.py" in names
    assert "afisha_core/testing/contracts/mailer.py" in names


def test_nothing_but_the_packages_and_their_metadata(names: list[str]) -> None:
    dist_info = f"afisha_core-{source_version()}.dist-info"
    top = {name.split("/", 1)[0] for name in names}

    assert top == {*PACKAGES, dist_info}
    for name in names:
        parts = name.split("/")
        assert "tests" not in parts, name
        assert not parts[-1].startswith(("test_", "conftest")), name
        assert "__pycache__" not in parts, name
        assert not name.endswith((".pyc", ".orig", ".rej")), name


def test_the_metadata(wheel: Path, names: list[str]) -> None:
    dist_info = f"afisha_core-{source_version()}.dist-info"
    metadata = Parser().parsestr(read(wheel, f"{dist_info}/METADATA"))

    assert metadata["Name"] == "afisha-core"
    assert metadata["Version"] == source_version()
    assert metadata["License-Expression"] == "MIT"
    assert f"{dist_info}/licenses/LICENSE" in names
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert str(metadata.get_payload()).lstrip().startswith("# Afisha")  # the README
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL", []))
    assert {"Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    classifiers = metadata.get_all("Classifier", [])
    assert "Typing :: Typed" in classifiers
    assert {"server", "testing", "docs"} <= set(metadata.get_all("Provides-Extra", []))
    requires = metadata.get_all("Requires-Dist", [])
    assert {r.split(";")[0] for r in requires if ";" not in r} == {"attrs>=23.1", "cattrs>=23.2"}
    entry_points = read(wheel, f"{dist_info}/entry_points.txt")
    assert "afisha = afisha_starlette.cli:main" in entry_points


def test_the_wheel_installs_with_the_server_extra_and_runs(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path, timeout=120)
    python, afisha = venv / "bin" / "python", venv / "bin" / "afisha"
    run(
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        f"{wheel}[server]",
        cwd=tmp_path, timeout=INSTALL_TIMEOUT,
    )  # fmt: skip

    imported = run(
        python, "-c",
        "import afisha_core, afisha_core.testing, afisha_core.app, afisha_postgres; "
        "print(afisha_core.__version__); print(afisha_core.__file__); "
        "print(afisha_postgres.MIGRATIONS_DIR)",
        cwd=tmp_path, timeout=60,
    ).splitlines()  # fmt: skip
    assert imported[0] == source_version()
    for path in imported[1:]:
        assert Path(path).is_relative_to(venv), path  # the installed copy, not the repository
    assert (Path(imported[2]) / "0001_initial.sql").is_file()

    help_text = run(afisha, "--help", cwd=tmp_path, timeout=60)
    for command in ("serve", "worker", "migrate", "create-admin", "AFISHA_DATABASE_URL"):
        assert command in help_text, command

    migrated = run(
        afisha, "migrate", cwd=tmp_path, timeout=60, AFISHA_DATABASE_URL="sqlite:///./afisha.db"
    )
    assert "migrations applied" in migrated
    assert (tmp_path / "afisha.db").is_file()
