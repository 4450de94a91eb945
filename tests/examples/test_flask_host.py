"""examples/other_framework.py driven through Flask's own test client."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def example() -> ModuleType:
    path = ROOT / "examples/other_framework.py"
    spec = importlib.util.spec_from_file_location("other_framework", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_framework"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def flask_app(tmp_path: Path) -> Iterator[Any]:
    module = example()
    loop = module.LoopThread()
    stack = AsyncExitStack()
    try:
        afisha = loop.run(module.build_afisha(tmp_path, stack))
        loop.run(module.seed(afisha))
        yield module.create_app(afisha, loop)
    finally:
        loop.run(stack.aclose())
        loop.stop()


def test_the_flask_host_logs_in_lists_and_joins(flask_app: Any) -> None:
    client = flask_app.test_client()

    wrong = client.post("/login", json={"login": "admin", "password": "wrong!!!"})
    login = client.post("/login", json={"login": "admin", "password": "flask-demo-passphrase"})
    events = client.get("/events").get_json()["items"]
    url = f"/events/{events[0]['id']}/participation"
    joined = client.put(url, headers={"Authorization": f"Bearer {login.get_json()['token']}"})
    anonymous = client.put(url)

    assert (wrong.status_code, wrong.get_json()["code"]) == (401, "invalid_credentials")
    assert login.status_code == 201
    assert [e["name"] for e in events] == ["Flask meetup"]
    assert joined.get_json()["my_status"] == "PARTICIPATING"
    assert joined.get_json()["spots_left"] == 1
    assert (anonymous.status_code, anonymous.get_json()["code"]) == (401, "not_authenticated")
