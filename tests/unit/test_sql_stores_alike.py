"""The two SQL stores are laid out alike: same modules, same class names, same errors."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import afisha_postgres
import afisha_sqlite
from afisha_core.errors import ServiceUnavailable

MODULES = {"database", "errors", "migrate", "repositories", "values"}


def _modules(package: object) -> set[str]:
    directory = Path(inspect.getfile(package)).parent  # type: ignore[arg-type]
    return {path.stem for path in directory.glob("*.py") if path.stem != "__init__"}


def _repository_classes(package: str) -> set[str]:
    module = importlib.import_module(f"{package}.repositories")
    return {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and not name.startswith("_")
        and any(inspect.iscoroutinefunction(f) for f in vars(value).values())
    }


def test_both_stores_have_the_same_modules() -> None:
    # PostgreSQL alone also has ``host``: its migrations applied from a host's tooling.
    assert _modules(afisha_postgres) == MODULES | {"host"}
    assert _modules(afisha_sqlite) == MODULES


def test_both_stores_name_their_repositories_alike() -> None:
    expected = {
        "Users",
        "Sessions",
        "Registrations",
        "Recoveries",
        "Events",
        "Participations",
        "Notifications",
        "Outbox",
        "Totp",
        "Audit",
        "CalendarFeeds",
        "Webhooks",
        "PersonalData",
    }
    assert _repository_classes("afisha_postgres") == expected
    assert _repository_classes("afisha_sqlite") == expected


def test_both_stores_raise_a_typed_database_unavailable() -> None:
    for package in (afisha_postgres, afisha_sqlite):
        error = package.DatabaseUnavailable("down")
        assert isinstance(error, ServiceUnavailable)
        assert error.service == "database"
