"""The fuzz tests need schemathesis (the ``dev`` extra); without it they are not collected.

``test_fuzz_requirements.py`` then says so: a skip on a developer's machine, a failure
under ``CI=true``, instead of an import error that would stop the whole run.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = (
    ["test_schema_fuzz.py"] if importlib.util.find_spec("schemathesis") is None else []
)
