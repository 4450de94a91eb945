"""Notifications over HTTP: listing, acknowledging, and reminders after a clock advance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from afisha_core.settings import Settings
from tests.support.http import Account, Api, assert_problem, assert_rfc3339, open_api
from tests.support.world import World

NOTIFICATION_FIELDS = {"id", "title", "content", "cta_url", "cta_label", "created_at", "acked_at"}


async def notified(api: Api, admin: Account, user: Account, names: list[str]) -> None:
    """Give ``user`` one notification per name, a minute apart (each event is moved)."""
    for name in names:
        event = await api.create_event(admin, name=name)
        await api.join(user, event["id"])
        api.world.clock.advance(timedelta(minutes=1))
        response = await api.client.patch(
            f"/v1/events/{event['id']}", json={"location": "Elsewhere"}, headers=admin.headers
        )
        assert response.status_code == 200, response.text


def titles(items: list[dict[str, Any]]) -> list[str]:
    """The titles of the notifications."""
    return [item["title"] for item in items]


async def test_notifications_are_listed_newest_first(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    await notified(api, admin, user, ["Alpha", "Beta", "Gamma"])

    response = await api.client.get("/v1/notifications", headers=user.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    items = body["items"]
    assert [t.split()[-1] for t in titles(items)] == ["Gamma", "Beta", "Alpha"]
    for item in items:
        assert set(item) >= NOTIFICATION_FIELDS
        assert item["acked_at"] is None
        assert_rfc3339(item, "created_at")
    created = [datetime.fromisoformat(i["created_at"]) for i in items]
    assert created == sorted(created, reverse=True)


async def test_notifications_are_paged(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    await notified(api, admin, user, ["One", "Two", "Three"])
    everything = await api.notifications(user)

    first = (
        await api.client.get("/v1/notifications", params={"limit": "2"}, headers=user.headers)
    ).json()
    second = (
        await api.client.get(
            "/v1/notifications",
            params={"limit": "2", "cursor": first["next_cursor"]},
            headers=user.headers,
        )
    ).json()

    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in everything]
    assert second["next_cursor"] is None


async def test_notifications_of_the_same_instant_are_paged_without_loss(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    events = [await api.create_event(admin, name=f"Same {n}") for n in range(5)]
    for event in events:
        await api.join(user, event["id"])
    for event in events:
        await api.client.post(f"/v1/events/{event['id']}/reject", headers=admin.headers)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await api.client.get("/v1/notifications", params=params, headers=user.headers)
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 5
    assert seen == [item["id"] for item in await api.notifications(user)]


async def test_ack_marks_one_notification_and_the_unacked_filter_hides_it(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    await notified(api, admin, user, ["Alpha", "Beta"])
    newest, oldest = await api.notifications(user)
    api.world.clock.advance(timedelta(minutes=5))

    response = await api.client.post(f"/v1/notifications/{oldest['id']}/ack", headers=user.headers)

    assert response.status_code == 200, response.text
    acked = response.json()
    assert set(acked) >= NOTIFICATION_FIELDS
    assert acked["id"] == oldest["id"]
    assert_rfc3339(acked, "created_at", "acked_at")
    assert datetime.fromisoformat(acked["acked_at"]) == api.world.clock.now()
    unacked = await api.notifications(user, unacked="true")
    assert [i["id"] for i in unacked] == [newest["id"]]
    assert len(await api.notifications(user)) == 2
    assert len(await api.notifications(user, unacked="false")) == 2
    api.world.clock.advance(timedelta(minutes=5))
    again = await api.client.post(f"/v1/notifications/{oldest['id']}/ack", headers=user.headers)
    assert again.status_code == 200
    assert again.json()["acked_at"] == acked["acked_at"]


async def test_another_users_notification_is_not_found(api: Api) -> None:
    admin = await api.admin()
    owner = await api.register()
    stranger = await api.register()
    await notified(api, admin, owner, ["Private"])
    (note,) = await api.notifications(owner)

    response = await api.client.post(
        f"/v1/notifications/{note['id']}/ack", headers=stranger.headers
    )

    assert_problem(response, 404, "not_found")
    assert await api.notifications(stranger) == []
    assert (await api.notifications(owner))[0]["acked_at"] is None


async def test_an_unknown_notification_is_not_found(api: Api) -> None:
    user = await api.register()

    for ident in ("00000000-0000-0000-0000-000000000000", "nope"):
        response = await api.client.post(f"/v1/notifications/{ident}/ack", headers=user.headers)
        assert_problem(response, 404, "not_found")


async def test_ack_all_acknowledges_every_unread_notification(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    other = await api.register()
    await notified(api, admin, user, ["A", "B", "C"])
    await notified(api, admin, other, ["D"])
    (oldest_id,) = [n["id"] for n in (await api.notifications(user))[-1:]]
    await api.client.post(f"/v1/notifications/{oldest_id}/ack", headers=user.headers)

    response = await api.client.post("/v1/notifications/ack-all", headers=user.headers)

    assert response.status_code == 200
    assert response.json() == {"acked": 2}
    assert await api.notifications(user, unacked="true") == []
    again = await api.client.post("/v1/notifications/ack-all", headers=user.headers)
    assert again.json() == {"acked": 0}
    assert len(await api.notifications(other, unacked="true")) == 1


async def test_notifications_need_a_session(api: Api) -> None:
    for method, path in [("GET", "/v1/notifications"), ("POST", "/v1/notifications/ack-all")]:
        response = await api.client.request(method, path)
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_bad_unacked_value_is_refused(api: Api) -> None:
    user = await api.register()

    response = await api.client.get(
        "/v1/notifications", params={"unacked": "maybe"}, headers=user.headers
    )

    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["unacked"]


async def test_a_reminder_arrives_once_the_clock_enters_the_lead() -> None:
    world = World(settings=Settings(reminder_lead=timedelta(hours=6)))
    async with open_api(world) as api:
        admin = await api.admin()
        going, gone = await api.users(2)
        event = await api.create_event(admin, name="Marathon", starts_in=timedelta(days=2))
        await api.join(going, event["id"])
        await api.join(gone, event["id"])
        await api.client.delete(f"/v1/events/{event['id']}/participation", headers=gone.headers)
        await world.deliver()

        world.clock.advance(timedelta(days=2) - timedelta(hours=6) - timedelta(minutes=1))
        await world.afisha.reminders.send_due()
        assert await api.notifications(going) == []

        world.clock.advance(timedelta(minutes=2))
        await world.afisha.reminders.send_due()
        await world.afisha.reminders.send_due()

        notes = await api.notifications(going)
        assert len(notes) == 1
        assert "Marathon" in notes[0]["title"]
        # The reminder links to the event page for people (which offers the calendar file).
        assert notes[0]["cta_url"].endswith(f"/events/{event['id']}")
        page = await api.client.get(notes[0]["cta_url"])
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert await api.notifications(gone) == []
        mails = await world.deliver()
        assert [m.to for m in mails] == [going.email]
        participants = await api.client.get(
            f"/v1/events/{event['id']}/participants", headers=admin.headers
        )
        by_user = {p["user"]["id"]: p for p in participants.json()["items"]}
        assert by_user[going.id]["reminder_queued_at"] is not None
        assert by_user[gone.id]["reminder_queued_at"] is None


async def test_moving_an_event_rearms_its_reminder(api: Api) -> None:
    admin = await api.admin()
    user = await api.register()
    event = await api.create_event(admin, name="Ballet", starts_in=timedelta(hours=12))
    await api.join(user, event["id"])
    await api.world.afisha.reminders.send_due()
    assert len(await api.notifications(user)) == 1
    new_start = api.world.clock.now() + timedelta(days=5)
    moved = await api.client.patch(
        f"/v1/events/{event['id']}",
        json={
            "starts_at": new_start.isoformat(),
            "ends_at": (new_start + timedelta(hours=2)).isoformat(),
        },
        headers=admin.headers,
    )
    assert moved.status_code == 200
    assert len(await api.notifications(user)) == 2

    api.world.clock.advance(timedelta(days=4, hours=1))
    await api.world.afisha.reminders.send_due()

    notes = await api.notifications(user)
    assert len(notes) == 3
    assert "Ballet" in notes[0]["title"]
