"""create_app takes the core as it is: an Afisha, no runtime to build."""

from __future__ import annotations

import httpx

from afisha_starlette import create_app
from tests.support.world import World


async def test_the_app_serves_a_bare_afisha() -> None:
    world = World()
    app = create_app(world.afisha)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        listed = await client.get("/v1/events")
        me = await client.get("/v1/users/me")

    assert listed.status_code == 200
    assert listed.json() == {"items": [], "next_cursor": None}
    assert me.status_code == 401
