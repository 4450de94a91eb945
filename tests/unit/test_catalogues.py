"""The shipped catalogues: complete, nothing unused, placeholders consistent."""

from __future__ import annotations

import ast
import functools
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import afisha_core
import afisha_starlette
from afisha_core.errors import AfishaError
from afisha_core.i18n import SHIPPED_LOCALES, shipped_catalogue_dir

SOURCES = [Path(afisha_core.__file__).parent, Path(afisha_starlette.__file__).parent]
# Ids built at run time from a code: problem.<error code>, field.<field-error code>.
DYNAMIC = re.compile(r"^(problem|field)\.[a-z_]+$")


def _catalogue(locale: str) -> Catalog:
    path = shipped_catalogue_dir() / locale / "LC_MESSAGES" / "afisha.po"
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _ids(catalog: Catalog) -> set[str]:
    return {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


@functools.cache
def _literal_ids() -> set[str]:
    """Every literal message id passed to ``gettext``/``ngettext`` in the shipped code."""
    found: set[str] = set()
    for root in SOURCES:
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"gettext", "ngettext"}
                    and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str)
                ):
                    found.add(node.args[1].value)
    return found


@functools.cache
def _codes_in_code() -> tuple[set[str], set[str]]:
    """Problem codes (every AfishaError plus the HTTP ones) and field-error codes used."""
    problems: set[str] = set()
    stack: list[type[AfishaError]] = [AfishaError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls is not AfishaError:
            problems.add(cls.code)
    from afisha_starlette.problems import _HTTP_CODES  # noqa: PLC0415 - private table

    problems |= set(_HTTP_CODES.values())
    fields: set[str] = {"invalid", "wrong_type", "required", "unknown_field", "wrong_length"}
    code_kw = re.compile(r'code="([a-z_]+)"')
    raised = re.compile(r'(?:InvalidValue\(|FieldError\()[^)]*?,\s*"([a-z_]+)"\s*\)', re.S)
    for root in SOURCES:
        for path in root.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            fields.update(code_kw.findall(text))
            fields.update(raised.findall(text))
    fields.add("weak_password")
    return problems, fields


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_id_used_exists_in_every_language_and_none_is_unused(locale: str) -> None:
    ids = _ids(_catalogue(locale))
    problems, fields = _codes_in_code()
    used = _literal_ids() | {f"problem.{c}" for c in problems} | {f"field.{c}" for c in fields}
    assert sorted(used - ids) == [], f"missing in {locale}"
    assert sorted(ids - used) == [], f"unused in {locale}"
    assert all(DYNAMIC.match(i) or i in _literal_ids() for i in ids)


@pytest.mark.parametrize("locale", [loc for loc in SHIPPED_LOCALES if loc != "en"])
def test_placeholders_match_english(locale: str) -> None:
    english: dict[object, tuple[str, ...]] = {
        m.id: tuple(map(str, m.string)) if isinstance(m.string, (tuple, list)) else (str(m.string),)
        for m in _catalogue("en")
        if m.id
    }
    for message in _catalogue(locale):
        if not message.id:
            continue
        raw = message.string
        theirs = tuple(map(str, raw)) if isinstance(raw, (tuple, list)) else (str(raw or ""),)
        ours = english[message.id]
        expected = set().union(*(_placeholders(t) for t in ours))
        for text in theirs:
            assert text, f"{locale}: {message.id} is not translated"
            # A plural form may leave {count} out ("one" in some languages), nothing else.
            assert _placeholders(text) - {"count"} == expected - {"count"}, (locale, message.id)


def test_russian_has_three_plural_forms_and_english_two() -> None:
    assert _catalogue("ru").num_plurals == 3
    assert _catalogue("en").num_plurals == 2


def test_the_check_finds_a_missing_id(tmp_path: Path) -> None:
    # The same comparison as above, on a catalogue with one id removed.
    ids = _ids(_catalogue("ru")) - {"email.reminder.subject"}
    assert "email.reminder.subject" in _literal_ids() - ids
