"""The README's code runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no Python example"
    for block in blocks:
        result = subprocess.run(  # noqa: S603 - runs this interpreter on the README's code
            [sys.executable, "-c", block], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "ADMINISTRATOR" in result.stdout
