"""The webhook endpoints over HTTP, with deliveries to a real receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from afisha_core.app import Afisha
from afisha_core.testing import FakeClock
from afisha_httpx import HttpxWebhookSender
from tests.support.http import Api, open_api
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.support.world import World


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


@pytest.fixture
async def api_with(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    sender = HttpxWebhookSender(allow_private=getattr(request, "param", True))
    world = World(clock=FakeClock(datetime.now(UTC).replace(microsecond=0)))
    world.afisha = Afisha(
        uow=world.db,
        hasher=world.hasher,
        limiter=world.limiter,
        storage=world.storage,
        mailer=world.mailer,
        clock=world.clock,
        tokens=world.tokens,
        settings=world.settings,
        webhook_sender=sender,
    )
    try:
        async with open_api(world) as api:
            yield api
    finally:
        await sender.aclose()


async def test_create_list_deliver_and_delete(api_with: Api, receiver: Receiver) -> None:
    api = api_with
    admin = await api.admin()
    created = await api.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["user.registered"], "description": "CRM"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert set(body) == {
        "id", "url", "events", "description", "secret", "created_at", "disabled_at",
    }  # fmt: skip
    receiver.secret = body["secret"]

    listed = await api.client.get("/v1/webhooks", headers=admin.headers)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert "secret" not in item
    assert body["secret"] not in listed.text

    account = await api.register()  # also delivers the mail, not the webhook
    await api.world.afisha.webhook_delivery.deliver_due()
    (got,) = receiver.received
    assert got.error is None
    assert got.verified["type"] == "user.registered"
    assert got.verified["data"]["id"] == account.id

    deliveries = await api.client.get(
        f"/v1/webhooks/{body['id']}/deliveries", headers=admin.headers
    )
    assert deliveries.status_code == 200, deliveries.text
    (delivery,) = deliveries.json()["items"]
    assert delivery["status"] == "DELIVERED"
    assert (delivery["attempts"], delivery["last_status_code"]) == (1, 204)
    assert got.headers["webhook-id"] == f"msg_{delivery['id'].replace('-', '')}"

    gone = await api.client.delete(f"/v1/webhooks/{body['id']}", headers=admin.headers)
    assert gone.status_code == 204
    again = await api.client.get(f"/v1/webhooks/{body['id']}/deliveries", headers=admin.headers)
    assert again.status_code == 404


async def test_only_administrators_manage_webhooks(api_with: Api, receiver: Receiver) -> None:
    api = api_with
    user = await api.register()
    for method, path in (("POST", "/v1/webhooks"), ("GET", "/v1/webhooks")):
        response = await api.client.request(
            method,
            path,
            json={"url": receiver.url, "events": ["event.created"]} if method == "POST" else None,
            headers=user.headers,
        )
        assert response.status_code == 403, (method, response.text)


@pytest.mark.parametrize("api_with", [False], indirect=True)
async def test_a_private_destination_is_a_422(api_with: Api, receiver: Receiver) -> None:
    api = api_with
    admin = await api.admin()
    response = await api.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["event.created"]},
        headers=admin.headers,
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert (await api.client.get("/v1/webhooks", headers=admin.headers)).json()["items"] == []


async def test_bad_input_is_a_422(api_with: Api) -> None:
    api = api_with
    admin = await api.admin()
    for body in (
        {"url": "ftp://example.org/x", "events": ["event.created"]},
        {"url": "https://example.org/x", "events": ["no.such.type"]},
        {"url": "https://example.org/x", "events": []},
        {"url": "https://user:pw@example.org/x", "events": ["event.created"]},
        {"url": "http://[::1", "events": ["event.created"]},
        {"url": "http://example.org:99999/x", "events": ["event.created"]},
        {"url": "https://example.org/x", "events": ["event.created"], "description": "x" * 501},
    ):
        response = await api.client.post("/v1/webhooks", json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
