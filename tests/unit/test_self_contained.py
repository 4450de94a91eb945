"""The project stands alone: nothing in it points at documents outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\.\./shared|\bAPI\.md\b|\bDESIGN\.md\b|\bSTYLE\.md\b")
TEXT = {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".json", ".html", ".js", ".sh"}


def test_no_file_points_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"],  # noqa: S607 - git from PATH
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in TEXT or not path.is_file() or path.name == Path(__file__).name:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
