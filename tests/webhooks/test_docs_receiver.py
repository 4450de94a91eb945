"""The receiver example of docs/webhooks.md verifies our deliveries and refuses forgeries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from afisha_core.domain import Webhook, WebhookDelivery
from afisha_core.usecases.webhooks import new_webhook_secret, webhook_request

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"


def _docs_verify() -> Callable[..., Any]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (code,) = [b for b in blocks if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs' example
    verify: Callable[..., Any] = namespace["verify"]
    return verify


def _signed(secret: str) -> tuple[dict[str, str], bytes]:
    now = datetime.now(UTC).replace(microsecond=0)
    webhook = Webhook(
        id=uuid.uuid4(),
        url="https://example.org/hook",
        event_types=("event.created",),
        secret=secret,
        created_at=now,
    )
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=webhook.id,
        event_type="event.created",
        payload={"id": "x", "name": "Концерт"},
        next_attempt_at=now,
        created_at=now,
    )
    return webhook_request(webhook, delivery, now)


def test_the_docs_example_accepts_a_delivery() -> None:
    secret = new_webhook_secret()
    headers, body = _signed(secret)
    assert _docs_verify()(secret, headers, body)["data"]["name"] == "Концерт"


def test_the_docs_example_refuses_a_tampered_body_or_another_secret() -> None:
    verify = _docs_verify()
    secret = new_webhook_secret()
    headers, body = _signed(secret)
    with pytest.raises(ValueError, match="signature"):
        verify(secret, headers, body.replace(b"x", b"y"))
    with pytest.raises(ValueError, match="signature"):
        verify(new_webhook_secret(), headers, body)
