"""The worker's heartbeat: a small file rewritten after every tick, read by a health check.

``afisha worker`` writes ``{"time": ..., "pid": ..., "ticks": {"mail": {...}, ...}}``
to the heartbeat file (``AFISHA_DATA_DIR/worker-heartbeat.json`` unless
``AFISHA_HEARTBEAT_FILE`` names another) after each tick; ``afisha worker-health``
exits 0 while the newest write is recent, 1 once ticks have stopped. Each write is
atomic (a temporary file renamed into place), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

__all__ = ["Heartbeat", "check_heartbeat"]


@attrs.define
class Heartbeat:
    """Writes the heartbeat file of one worker process."""

    path: Path
    ticks: dict[str, dict[str, object]] = attrs.field(factory=dict)

    def beat(self, name: str, ok: bool) -> None:
        """Record that tick ``name`` just ran (``ok``: without failing)."""
        now = datetime.now(UTC)
        entry = self.ticks.setdefault(name, {})
        entry["last_run"] = now.isoformat()
        if ok:
            entry["last_ok"] = now.isoformat()
        body = {"time": now.isoformat(), "pid": os.getpid(), "ticks": self.ticks}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".heartbeat-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out)
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def check_heartbeat(path: Path, max_age: timedelta, now: datetime | None = None) -> str | None:
    """``None`` when the heartbeat at ``path`` is younger than ``max_age``; else why not."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        written = datetime.fromisoformat(str(body["time"]))
    except FileNotFoundError:
        return f"no heartbeat at {path}: the worker has not ticked yet"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"the heartbeat at {path} cannot be read ({exc})"
    age = (now or datetime.now(UTC)) - written
    if age > max_age:
        return f"the last tick was {int(age.total_seconds())} s ago (more than {max_age})"
    return None
