"""An independent linter (Redocly CLI, recommended rules) finds no error in the document."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.clients._tools import node_tool, require
from tests.support.http import Api


async def test_redocly_reports_no_error_in_the_openapi_document(api: Api, tmp_path: Path) -> None:
    cli = node_tool("@redocly/cli") / "bin" / "cli.js"
    node = require(shutil.which("node"), "node", "apt-get install -y nodejs")
    document = (await api.client.get("/openapi.json")).json()
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    env = {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_COLOR": "1",
    }

    completed = await asyncio.to_thread(
        subprocess.run,
        [node, str(cli), "lint", "--format=json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    report: dict[str, Any] = json.loads(completed.stdout)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert report["totals"]["errors"] == 0, json.dumps(errors, indent=1)[:5000]
    assert completed.returncode == 0, completed.stderr
