"""Both wheels hold what they must (and nothing else), install cleanly and run.

Two distributions are built from the working tree: ``afisha-core`` (the library alone)
and ``afisha-server`` (the adapters and the ``afisha`` command). Each is checked file by
file, then installed into fresh virtual environments (dependencies come from the
package index) and used from outside the repository: the core alone brings one package
and no command; the server without its extras explains what to install instead of
failing with a traceback; with the ``server`` extra, ``afisha --help`` and ``afisha
migrate`` on SQLite work, which needs the migrations packaged inside ``afisha_sqlite``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = (
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


def build_wheel(source: Path, out: Path) -> Path:
    run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out, source,
        cwd=out, timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def core_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("core"))


@pytest.fixture(scope="module")
def server_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT / "adapters", tmp_path_factory.mktemp("server"))


def names_in(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def read(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name).decode()


def metadata_of(wheel: Path, dist_info: str) -> Message:
    return Parser().parsestr(read(wheel, f"{dist_info}/METADATA"))


def assert_only(names: list[str], packages: set[str], dist_info: str) -> None:
    assert {name.split("/", 1)[0] for name in names} == {*packages, dist_info}
    for name in names:
        parts = name.split("/")
        assert "tests" not in parts, name
        assert not parts[-1].startswith(("test_", "conftest")), name
        assert "__pycache__" not in parts, name
        assert not name.endswith((".pyc", ".orig", ".rej")), name


# --- afisha-core: the library alone -------------------------------------------------


def test_the_core_wheel_is_the_library_alone(core_wheel: Path) -> None:
    version = source_version()
    dist_info = f"afisha_core-{version}.dist-info"
    names = names_in(core_wheel)

    assert core_wheel.name == f"afisha_core-{version}-py3-none-any.whl"
    assert_only(names, {"afisha_core"}, dist_info)
    assert "afisha_core/py.typed" in names
    assert "afisha_core/testing/strategies.py" in names
    assert "afisha_core/testing/contracts/mailer.py" in names
    assert f"{dist_info}/entry_points.txt" not in names  # no command


def test_the_core_metadata(core_wheel: Path) -> None:
    version = source_version()
    dist_info = f"afisha_core-{version}.dist-info"
    metadata = metadata_of(core_wheel, dist_info)

    assert metadata["Name"] == "afisha-core"
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    assert f"{dist_info}/licenses/LICENSE" in names_in(core_wheel)
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert str(metadata.get_payload()).lstrip().startswith("# Afisha")  # the README
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL", []))
    assert {"Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    assert "Typing :: Typed" in metadata.get_all("Classifier", [])
    # Development tools are dependency groups, never published extras.
    assert set(metadata.get_all("Provides-Extra", [])) == {"testing"}
    requires = metadata.get_all("Requires-Dist", [])
    assert {r for r in requires if "extra ==" not in r} == {
        "attrs>=23.1",
        "cattrs>=23.2",
        "babel>=2.14",
    }


# --- afisha-server: the adapters and the command -------------------------------------


def test_the_server_wheel_holds_every_adapter_typed(server_wheel: Path) -> None:
    dist_info = f"afisha_server-{source_version()}.dist-info"
    names = names_in(server_wheel)

    assert_only(names, set(ADAPTERS), dist_info)
    for package in ADAPTERS:
        assert f"{package}/__init__.py" in names, package
        assert f"{package}/py.typed" in names, package


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_the_migrations_are_inside_their_adapter(server_wheel: Path, dialect: str) -> None:
    expected = {
        f"afisha_{dialect}/migrations/{path.name}"
        for path in (ROOT / "migrations" / dialect).glob("*.sql")
    }
    packaged = {
        name
        for name in names_in(server_wheel)
        if name.startswith(f"afisha_{dialect}/migrations/") and name.endswith(".sql")
    }

    assert expected
    assert packaged == expected


def test_the_server_metadata(server_wheel: Path) -> None:
    version = source_version()
    dist_info = f"afisha_server-{version}.dist-info"
    metadata = metadata_of(server_wheel, dist_info)

    assert metadata["Name"] == "afisha-server"
    assert metadata["Version"] == version  # released together with the core
    assert metadata["License-Expression"] == "MIT"
    requires = metadata.get_all("Requires-Dist", [])
    assert {r for r in requires if "extra ==" not in r} == {f"afisha-core=={version}"}
    extras = set(metadata.get_all("Provides-Extra", []))
    assert {"postgres", "postgres-binary", "redis", "smtp", "s3", "argon2", "scheduler"} <= extras
    assert {"http", "server", "all"} <= extras
    postgres = [r for r in requires if "extra == 'postgres'" in r or 'extra == "postgres"' in r]
    assert postgres
    assert not [r for r in postgres if "binary" in r]  # libraries choose their own psycopg
    entry_points = read(server_wheel, f"{dist_info}/entry_points.txt")
    assert "afisha = afisha_server.command:main" in entry_points


# --- installed, each alone -----------------------------------------------------------


def fresh_venv(where: Path) -> Path:
    venv = where / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=where, timeout=120)
    return venv


def pip_install(venv: Path, *requirements: str | Path, cwd: Path) -> None:
    run(
        venv / "bin" / "python", "-m", "pip", "install", "--quiet",
        "--disable-pip-version-check", *requirements,
        cwd=cwd, timeout=INSTALL_TIMEOUT,
    )  # fmt: skip


def installed(venv: Path, cwd: Path) -> set[str]:
    out = run(
        venv / "bin" / "python", "-m", "pip", "list", "--format", "freeze",
        "--disable-pip-version-check", cwd=cwd, timeout=60,
    )  # fmt: skip
    return {line.split("==")[0].lower() for line in out.split()} - {"pip", "setuptools"}


def test_the_core_installs_alone_with_one_package_and_no_command(
    core_wheel: Path, tmp_path: Path
) -> None:
    venv = fresh_venv(tmp_path)
    pip_install(venv, core_wheel, cwd=tmp_path)

    out = run(
        venv / "bin" / "python", "-c",
        "import afisha_core, afisha_core.app, afisha_core.testing; print(afisha_core.__file__)",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert Path(out.strip()).is_relative_to(venv)
    assert not (venv / "bin" / "afisha").exists()
    site = Path(
        run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
            cwd=tmp_path, timeout=60).strip()
    )  # fmt: skip
    assert not list(site.glob("afisha_[!c]*")), "an adapter package came with the core"
    assert installed(venv, tmp_path) <= {"afisha-core", "attrs", "cattrs", "babel"} | {
        "typing-extensions",
        "typing_extensions",
        "exceptiongroup",
    }


def test_the_server_without_its_extras_says_what_to_install(
    core_wheel: Path, server_wheel: Path, tmp_path: Path
) -> None:
    venv = fresh_venv(tmp_path)
    pip_install(venv, "--find-links", core_wheel.parent, server_wheel, cwd=tmp_path)

    helped = run(venv / "bin" / "afisha", "--help", cwd=tmp_path, timeout=60)
    assert "serve" in helped  # the help needs nothing beyond the standard library
    result = subprocess.run(  # noqa: S603 - the command this test installed
        [str(venv / "bin" / "afisha"), "serve", "--port", "0", "--no-scheduler"],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "pip install 'afisha-server[server]'" in result.stderr


def test_the_server_installs_with_the_server_extra_and_runs(
    core_wheel: Path, server_wheel: Path, tmp_path: Path
) -> None:
    venv = fresh_venv(tmp_path)
    python, afisha = venv / "bin" / "python", venv / "bin" / "afisha"
    pip_install(venv, "--find-links", core_wheel.parent, f"{server_wheel}[server]", cwd=tmp_path)

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

    run(afisha, "migrate", cwd=tmp_path, timeout=60, AFISHA_DATABASE_URL="sqlite:///./afisha.db")
    assert (tmp_path / "afisha.db").is_file()
