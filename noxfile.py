"""Project sessions: ``nox -s tests lint typecheck docs build``."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite (PostgreSQL and Redis on 127.0.0.1 are used when present)."""
    session.install("-e", ".[all,dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the library, the adapters and the tests."""
    session.install("-e", ".[all,dev]")
    session.run("mypy")


@nox.session(name="core-only")
def core_only(session: nox.Session) -> None:
    """The core and its fakes import with no extra installed."""
    session.install(".")
    session.run("python", "-c", "import afisha_core, afisha_core.testing, afisha_core.app")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into build/site, offline; any warning fails it."""
    session.install("-e", ".[server,docs]")
    session.run("mkdocs", "build", "--strict", "--clean", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel into dist/ and check their metadata."""
    session.install("build", "twine")
    shutil.rmtree("dist", ignore_errors=True)  # check only what this run built
    session.run("python", "-m", "build")
    session.run("twine", "check", "--strict", *_dist_files())


def _dist_files() -> list[str]:
    return sorted(os.path.join("dist", name) for name in os.listdir("dist"))
