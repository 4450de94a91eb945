"""PostgreSQL going away: a typed error, then recovery without a restart of ours."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from afisha_core.errors import ServiceUnavailable
from afisha_core.testing.builders import make_user
from afisha_postgres import DatabaseUnavailable, PostgresDatabase
from tests.support.pg import migrated_database


def _cluster_version() -> str | None:
    root = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not root.is_dir():
        return None
    versions = sorted(p.name for p in root.iterdir())
    return versions[-1] if versions else None


async def test_an_unreachable_server_is_a_typed_unavailable_error() -> None:
    db = PostgresDatabase("postgresql://postgres@127.0.0.1:1/test", timeout=1, connect_timeout=1)
    await db.open()
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with db() as uow:
                await uow.users.get(make_user().id)
        assert isinstance(caught.value, ServiceUnavailable)
        assert caught.value.service == "database"
    finally:
        await db.close()


async def test_a_postgres_restart_is_survived() -> None:
    version = _cluster_version()
    if version is None:
        pytest.skip("pg_ctlcluster is not available to restart PostgreSQL")
    async with migrated_database(min_size=2, max_size=4) as db:
        user = make_user()
        async with db() as uow:
            await uow.users.add(user)
            await uow.commit()
        await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
            capture_output=True,
        )
        # The pool's old connections are dead; the next unit of work must still work.
        for _ in range(50):
            try:
                async with db() as uow:
                    found = await uow.users.get(user.id)
                break
            except DatabaseUnavailable:
                await asyncio.sleep(0.2)
        else:
            pytest.fail("the pool did not recover after the restart")
        assert found == user
