"""Webhooks end to end: the core queues, the httpx sender delivers, a real receiver checks.

The receiver is a real HTTP server on 127.0.0.1 that verifies every signature with the
``standardwebhooks`` package (the specification's own library), so these tests use
``allow_private=True``; the refusal of private destinations has tests of its own.
The clock starts at the real time because the verifier refuses timestamps more than
five minutes away from it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from afisha_core.app import Afisha
from afisha_core.domain import (
    RETRY_SCHEDULE,
    WEBHOOK_EVENT_TYPES,
    AuditAction,
    DeliveryStatus,
    User,
    Webhook,
)
from afisha_core.errors import EventFull, ValidationFailed
from afisha_core.ports import AuditQuery
from afisha_core.testing import FakeClock
from afisha_core.usecases import EventPatch, WebhookDeliveryService
from afisha_httpx import HttpxWebhookSender, is_forbidden_address
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.support.world import World


def _world(sender: HttpxWebhookSender) -> World:
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
    return world


@pytest.fixture
async def sender() -> AsyncIterator[HttpxWebhookSender]:
    sender = HttpxWebhookSender(allow_private=True)
    yield sender
    await sender.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


async def _subscribed(
    world: World, receiver: Receiver, types: tuple[str, ...] = WEBHOOK_EVENT_TYPES
) -> tuple[User, Webhook]:
    admin = await world.admin()
    webhook = await world.afisha.webhooks.create(admin, receiver.url, types, "tests")
    assert webhook.secret.startswith("whsec_")
    receiver.secret = webhook.secret
    return admin, webhook


async def test_every_event_type_arrives_signed_for_its_action(
    sender: HttpxWebhookSender, receiver: Receiver
) -> None:
    world = _world(sender)
    admin, webhook = await _subscribed(world, receiver)
    login = await world.register()  # user.registered
    view = await world.event(admin, capacity=5)  # event.created
    await world.afisha.events.update(admin, view.event.id, EventPatch(name="Renamed"))
    await world.afisha.participation.join(login.user, view.event.id)  # participation.changed
    await world.afisha.events.reject(admin, view.event.id)  # event.cancelled

    report = await world.afisha.webhook_delivery.deliver_due()

    assert report.claimed == report.delivered == 5
    assert [r.error for r in receiver.received] == [None] * 5
    by_type = {r.verified["type"]: r.verified for r in receiver.received}
    assert set(by_type) == set(WEBHOOK_EVENT_TYPES)
    assert by_type["user.registered"]["data"]["id"] == str(login.user.id)
    assert by_type["event.created"]["data"]["id"] == str(view.event.id)
    assert by_type["event.updated"]["data"]["name"] == "Renamed"
    assert by_type["participation.changed"]["data"]["status"] == "PARTICIPATING"
    assert by_type["event.cancelled"]["data"]["cancelled"] is True
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 5
    page = await world.afisha.webhooks.list_deliveries(admin, webhook.id)
    assert {d.status for d in page.items} == {DeliveryStatus.DELIVERED}
    assert {(d.attempts, d.last_status_code) for d in page.items} == {(1, 204)}
    assert (await world.afisha.webhook_delivery.deliver_due()).claimed == 0


async def test_only_subscribed_types_are_queued_and_a_rolled_back_change_queues_nothing(
    sender: HttpxWebhookSender, receiver: Receiver
) -> None:
    world = _world(sender)
    admin, _ = await _subscribed(world, receiver, ("participation.changed",))
    view = await world.event(admin, capacity=1)  # not subscribed: nothing
    first, second = await world.register(), await world.register()
    await world.afisha.participation.join(first.user, view.event.id)
    with pytest.raises(EventFull):
        await world.afisha.participation.join(second.user, view.event.id)

    await world.afisha.webhook_delivery.deliver_due()

    assert [r.verified["type"] for r in receiver.received] == ["participation.changed"]
    assert receiver.received[0].verified["data"]["user_id"] == str(first.user.id)


@pytest.mark.parametrize("fault", ["error", "slow", "redirect"])
async def test_a_failed_delivery_is_retried_after_5_seconds_with_the_same_id(
    sender: HttpxWebhookSender, receiver: Receiver, fault: str
) -> None:
    world = _world(sender)
    admin, webhook = await _subscribed(world, receiver, ("event.created",))
    worker = WebhookDeliveryService(world.db, world.clock, sender, time_limit=0.5)
    receiver.slow_seconds = 3.0
    await world.event(admin)
    receiver.script = [fault]

    started = time.monotonic()
    report = await worker.deliver_due()
    assert time.monotonic() - started < 2.5, "the worker waited for a stuck receiver"

    assert (report.claimed, report.delivered, report.failed) == (1, 0, 1)
    (failed,) = (await world.afisha.webhooks.list_deliveries(admin, webhook.id)).items
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 1)
    assert failed.last_error
    assert failed.next_attempt_at == world.clock.now() + timedelta(seconds=5)
    expected_code = {"error": 500, "redirect": 302, "slow": None}[fault]
    assert failed.last_status_code == expected_code
    assert (await worker.deliver_due()).claimed == 0, "retried before its time"

    world.clock.advance(timedelta(seconds=5))
    assert (await worker.deliver_due()).delivered == 1

    assert len(receiver.received) == 2
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1, "the id changed"
    assert [r.error for r in receiver.received] == [None, None]
    assert receiver.received[0].body == receiver.received[1].body
    (done,) = (await world.afisha.webhooks.list_deliveries(admin, webhook.id)).items
    assert (done.status, done.attempts, done.last_error) == (DeliveryStatus.DELIVERED, 2, None)


async def test_a_receiver_that_is_down_gets_the_delivery_when_it_is_back(
    sender: HttpxWebhookSender,
) -> None:
    world = _world(sender)
    receiver = Receiver(port=_closed_port())
    admin, webhook = await _subscribed(world, receiver, ("event.created",))
    await world.event(admin)
    worker = WebhookDeliveryService(world.db, world.clock, sender, time_limit=2)

    report = await worker.deliver_due()  # nothing listens on the port
    assert (report.claimed, report.failed) == (1, 1)
    (failed,) = (await world.afisha.webhooks.list_deliveries(admin, webhook.id)).items
    assert failed.status is DeliveryStatus.PENDING
    assert failed.last_status_code is None

    world.clock.advance(timedelta(seconds=5))
    async with webhook_receiver(receiver):
        assert (await worker.deliver_due()).delivered == 1
    assert [r.error for r in receiver.received] == [None]
    assert receiver.received[0].verified["type"] == "event.created"


async def test_a_slow_receiver_does_not_hold_up_the_others(
    sender: HttpxWebhookSender, receiver: Receiver
) -> None:
    world = _world(sender)
    admin, _ = await _subscribed(world, receiver, ("event.created",))
    async with webhook_receiver() as quick:
        webhook = await world.afisha.webhooks.create(admin, quick.url, ["event.created"])
        quick.secret = webhook.secret
        receiver.script, receiver.slow_seconds = ["slow"], 3.0
        await world.event(admin)
        worker = WebhookDeliveryService(world.db, world.clock, sender, time_limit=1)
        started = time.monotonic()
        report = await worker.deliver_due()
        elapsed = time.monotonic() - started
    assert (report.delivered, report.failed) == (1, 1)
    assert elapsed < 2.5
    assert [r.error for r in quick.received] == [None]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_retries_follow_the_schedule_then_fail_and_24_hours_of_failures_disable(
    sender: HttpxWebhookSender, receiver: Receiver
) -> None:
    world = _world(sender)
    admin, webhook = await _subscribed(world, receiver, ("event.created", "event.updated"))
    view = await world.event(admin)
    receiver.script = ["error"] * 20
    worker = WebhookDeliveryService(world.db, world.clock, sender, time_limit=2)

    waits = []
    for _ in range(len(RETRY_SCHEDULE) + 1):
        assert (await worker.deliver_due()).claimed == 1
        (delivery,) = (await world.afisha.webhooks.list_deliveries(admin, webhook.id)).items
        if delivery.next_attempt_at is None:
            break
        waits.append(delivery.next_attempt_at - world.clock.now())
        world.clock.advance(delivery.next_attempt_at - world.clock.now())

    assert tuple(waits) == RETRY_SCHEDULE
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 8)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len(receiver.received) == 8
    async with world.db() as uow:
        stored = await uow.webhooks.get(webhook.id)
        audit = await uow.audit.list(AuditQuery(action=AuditAction.WEBHOOK_DISABLED))
    assert stored is not None
    assert stored.disabled_at == world.clock.now()
    assert [e.target_id for e in audit] == [webhook.id]
    # A disabled webhook gets nothing new.
    await world.afisha.events.update(admin, view.event.id, EventPatch(name="Later"))
    assert (await worker.deliver_due()).claimed == 0


async def test_a_success_clears_the_failure_clock(
    sender: HttpxWebhookSender, receiver: Receiver
) -> None:
    world = _world(sender)
    admin, webhook = await _subscribed(world, receiver, ("event.created",))
    receiver.script = ["error"]
    await world.event(admin)
    await world.afisha.webhook_delivery.deliver_due()
    async with world.db() as uow:
        failing = await uow.webhooks.get(webhook.id)
    assert failing is not None
    assert failing.failing_since == world.clock.now()
    world.clock.advance(timedelta(seconds=5))
    await world.afisha.webhook_delivery.deliver_due()
    async with world.db() as uow:
        healed = await uow.webhooks.get(webhook.id)
    assert healed is not None
    assert healed.failing_since is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
    ],
)
async def test_private_destinations_are_refused_at_creation(url: str) -> None:
    sender = HttpxWebhookSender()
    world = _world(sender)
    admin = await world.admin()
    with pytest.raises(ValidationFailed):
        await world.afisha.webhooks.create(admin, url, ["event.created"])
    async with world.db() as uow:
        assert await uow.webhooks.list(after=None, limit=10) == []


async def test_private_destinations_are_refused_again_at_delivery(receiver: Receiver) -> None:
    permissive = HttpxWebhookSender(allow_private=True)
    strict = HttpxWebhookSender()
    try:
        world = _world(permissive)
        admin, webhook = await _subscribed(world, receiver, ("event.created",))
        await world.event(admin)
        worker = WebhookDeliveryService(world.db, world.clock, strict, time_limit=2)
        report = await worker.deliver_due()
    finally:
        await permissive.aclose()
        await strict.aclose()

    assert (report.claimed, report.failed) == (1, 1)
    assert receiver.received == []
    (delivery,) = (await world.afisha.webhooks.list_deliveries(admin, webhook.id)).items
    assert delivery.last_error is not None
    assert "private" in delivery.last_error


def test_public_addresses_are_allowed_and_the_others_are_not() -> None:
    assert not is_forbidden_address("93.184.216.34")
    assert not is_forbidden_address("2606:2800:220:1:248:1893:25c8:1946")
    for address in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00:ec2::254"):
        assert is_forbidden_address(address), address


async def test_deleting_a_webhook_removes_it_and_its_deliveries(
    sender: HttpxWebhookSender, receiver: Receiver
) -> None:
    world = _world(sender)
    admin, webhook = await _subscribed(world, receiver, ("event.created",))
    await world.event(admin)
    await world.afisha.webhooks.delete(admin, webhook.id)
    assert (await world.afisha.webhook_delivery.deliver_due()).claimed == 0
    assert receiver.received == []
    async with world.db() as uow:
        audit = await uow.audit.list(AuditQuery(target_id=webhook.id))
    assert {e.action for e in audit} == {AuditAction.WEBHOOK_CREATED, AuditAction.WEBHOOK_DELETED}
