"""The OpenAPI document: an independent linter (Redocly CLI, its recommended rules)
finds no error in it, its examples are valid, and it says what generated clients need."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.clients._schema_check import SchemaCheck
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


async def test_every_example_in_the_document_is_valid_against_its_schema(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    check = SchemaCheck(document)
    schemas = document["components"]["schemas"]
    examples = [
        (f"components/{name}", {"$ref": f"#/components/schemas/{name}"}, example)
        for name, schema in schemas.items()
        for example in schema.get("examples", [])
    ]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for content in response.get("content", {}).values():
                    examples += [
                        (f"{method} {path} {status} {name}", content["schema"], ex["value"])
                        for name, ex in content.get("examples", {}).items()
                    ]

    invalid = [
        (where, error) for where, schema, value in examples for error in check.errors(schema, value)
    ]

    assert {"EventOut", "UserOut", "Problem", "EventDraft"} <= {
        name for name, schema in schemas.items() if schema.get("examples")
    }
    assert len(examples) > 50
    assert invalid == []


async def test_the_document_says_what_generated_clients_need(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    paths = document["paths"]
    operations = [op for item in paths.values() for op in item.values()]

    event = document["components"]["schemas"]["EventOut"]["properties"]
    assert {"type": "null"} in event["my_status"]["anyOf"]  # null is a valid my_status
    for path in ("/v1/events", "/v1/events/{event_id}", "/v1/events/{event_id}/calendar.ics"):
        assert paths[path]["get"]["security"] == [{}, {"bearer": []}], path
    ids = [
        p for op in operations for p in op.get("parameters", [])
        if p["in"] == "path" and (p["name"].endswith("_id") or p["name"] == "uid")
    ]  # fmt: skip
    assert ids
    assert all(p["schema"].get("format") == "uuid" for p in ids)
    names = [op["operationId"] for op in operations]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z_]*[a-z]", name) for name in names), names
    upload = paths["/v1/events/{event_id}/image"]["put"]["requestBody"]["content"]
    assert "application/octet-stream" in upload
    media = paths["/media/{key}"]["get"]["responses"]["200"]["content"]
    assert "application/octet-stream" in media
    for operation in operations:
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and "application/problem+json" in response.get(
                "content", {}
            ):
                examples = response["content"]["application/problem+json"]["examples"]
                assert examples, (operation["operationId"], status)
                assert all(e["value"]["status"] == int(status) for e in examples.values())
