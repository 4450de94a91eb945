"""Turn-taking: the units of work of one store run one at a time, a task at a time.

The in-memory database and the SQLite adapter each have one set of tables (one
connection) that every unit of work shares, so units of work take turns: entering one
waits until the previous one has left. The same task asking for a second turn while it
holds one would wait for itself forever, so that raises :class:`RuntimeError` instead.
"""

from __future__ import annotations

import asyncio

__all__ = ["TurnTaking"]


class TurnTaking:
    """One turn at a time, handed out in order to the tasks that ask.

    It can be created outside a running event loop and used from several loops one
    after another (each ``asyncio.run`` of a test, for instance): the lock is made for
    the loop that asks. ``owner`` names the store in the error message.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._holder: asyncio.Task[object] | None = None

    async def acquire(self) -> None:
        """Wait for the current task's turn.

        Raises :class:`RuntimeError` if this task already holds the turn.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError(
                f"this task already has an open unit of work on this {self._owner}; "
                "units of work take turns, so opening a second one would wait forever"
            )
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        await self._lock.acquire()
        self._holder = task

    def release(self) -> None:
        """Give the turn to the next task that waits (if any)."""
        self._holder = None
        if self._lock is not None and self._lock.locked():
            self._lock.release()
