"""Project sessions: ``nox -s tests lint typecheck docs build``.

Two distributions are built from this repository: ``afisha-core`` (the library, the
repository root) and ``afisha-server`` (the adapters and the ``afisha`` command,
``adapters/``). Development tools come from the PEP 735 dependency groups of the root
``pyproject.toml``.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYPROJECT = nox.project.load_toml("pyproject.toml")
#: The library and every adapter, editable, as the README's set-up installs them.
EVERYTHING = ("-e", ".[testing]", "-e", "./adapters[all]")


def groups(*names: str) -> list[str]:
    """The requirements of the root project's dependency groups."""
    return list(nox.project.dependency_groups(PYPROJECT, *names))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite (PostgreSQL and Redis on 127.0.0.1 are used when present)."""
    session.install(*EVERYTHING, *groups("test"))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install(*groups("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the library, the adapters and the tests."""
    session.install(*EVERYTHING, *groups("typecheck"))
    session.run("mypy")


@nox.session(name="core-only")
def core_only(session: nox.Session) -> None:
    """The library alone: it imports with nothing but its own dependencies, and no command."""
    session.install(".")
    session.run("python", "-c", "import afisha_core, afisha_core.testing, afisha_core.app")
    session.run(
        "python",
        "-c",
        "import importlib.metadata as m, shutil; "
        "d = m.distribution('afisha-core'); "
        "assert not d.entry_points, d.entry_points; "
        "assert shutil.which('afisha') is None, 'afisha-core must not install a command'; "
        "top = set(d.read_text('top_level.txt').split()) if d.read_text('top_level.txt') "
        "else {f.parts[0] for f in d.files if f.suffix == '.py'}; "
        "assert top == {'afisha_core'}, top",
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into build/site, offline; any warning fails it."""
    session.install(*EVERYTHING, *groups("docs"))
    session.run("mkdocs", "build", "--strict", "--clean", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build both distributions (sdist and wheel each) into dist/ and check their metadata."""
    session.install(*groups("build"))
    shutil.rmtree("dist", ignore_errors=True)  # check only what this run built
    session.run("python", "-m", "build", "--outdir", "dist", ".")
    session.run("python", "-m", "build", "--outdir", "dist", "adapters")
    session.run("twine", "check", "--strict", *_dist_files())


def _dist_files() -> list[str]:
    return sorted(os.path.join("dist", name) for name in os.listdir("dist"))
