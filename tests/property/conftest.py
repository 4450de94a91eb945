"""Hypothesis profiles for the property tests.

``dev`` is quick for local runs; ``ci`` is thorough and derandomized, so a CI failure
reproduces. ``HYPOTHESIS_PROFILE`` picks one; without it, ``ci`` when ``CI=true`` (as
CI services set it), else ``dev``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=50)
settings.register_profile("ci", max_examples=300, derandomize=True)

_DEFAULT_PROFILE = "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _DEFAULT_PROFILE))
