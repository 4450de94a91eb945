"""Deterministic interleavings of two writers over any unit-of-work factory.

:class:`PausingUnitOfWorkFactory` wraps a real :class:`~afisha_core.ports.UnitOfWorkFactory`.
Its units of work behave exactly like the wrapped ones, but every *step* (entering a
unit of work, each repository call once it returned, and each commit before it
happens) is counted for the task that runs under :func:`run_interleaved`'s first
writer; that writer stops at the chosen step while the second writer runs, then goes
on. Pausing the first writer after its ``k``-th step, for every ``k``, makes each
"read, then the other commits, then write" schedule happen in turn (the way
PostgreSQL's isolation tests script two sessions).

While the first writer holds a lock (a row lock in PostgreSQL, the write transaction
of SQLite, the turn of the in-memory store), the second one waits for it; after
``wait`` seconds the first writer is released anyway, so a blocked writer never
hangs the test. A schedule that could not happen because of a lock is simply not
observed, which is the point of the lock.

Only the standard library, attrs and the core are imported here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self, cast

import attrs

from afisha_core.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["Outcome", "PausingUnitOfWorkFactory", "run_interleaved"]


@attrs.define
class _Gate:
    """Counts the steps of one task and holds it at ``pause_at``."""

    pause_at: int
    steps: int = 0
    reached: asyncio.Event = attrs.Factory(asyncio.Event)
    release: asyncio.Event = attrs.Factory(asyncio.Event)

    async def step(self) -> None:
        self.steps += 1
        if self.steps == self.pause_at:
            self.reached.set()
            await self.release.wait()


_gate: ContextVar[_Gate | None] = ContextVar("afisha_interleave_gate", default=None)


async def _step() -> None:
    gate = _gate.get()
    if gate is not None:
        await gate.step()


class _PausingRepository:
    """Forwards every method of a repository, counting a step after each call returns."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            await _step()
            return result

        return call


class _PausingUnitOfWork:
    """A unit of work that counts steps for the paused writer and forwards the rest."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return _PausingRepository(getattr(self._inner, name))

    async def __aenter__(self) -> Self:
        await _step()
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await _step()
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


class PausingUnitOfWorkFactory:
    """A :class:`~afisha_core.ports.UnitOfWorkFactory` whose units of work can be paused.

    Outside :func:`run_interleaved` it adds nothing but a few awaits.
    """

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work of the wrapped factory, with steps counted."""
        return cast(UnitOfWork, _PausingUnitOfWork(self.inner(read_only=read_only)))


@attrs.frozen
class Outcome:
    """What one writer ended with: its return value, or the exception it raised."""

    value: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the writer returned normally."""
        return self.error is None


async def _capture(awaitable: Awaitable[Any]) -> Outcome:
    try:
        return Outcome(value=await awaitable)
    except Exception as exc:  # the contract decides which errors are acceptable
        return Outcome(error=exc)


async def run_interleaved(
    first: Callable[[], Awaitable[Any]],
    second: Callable[[], Awaitable[Any]],
    *,
    pause_at: int,
    wait: float = 0.1,
) -> tuple[Outcome, Outcome] | None:
    """Run ``first`` until its ``pause_at``-th step, all of ``second``, then the rest of ``first``.

    ``second`` gets ``wait`` seconds to finish (it may be waiting for a lock ``first``
    holds); then ``first`` is released and both are awaited. Returns both outcomes,
    or ``None`` when ``first`` finished in fewer than ``pause_at`` steps (there is no
    such schedule: the caller has tried them all). Only units of work opened through
    a :class:`PausingUnitOfWorkFactory` count steps.
    """
    gate = _Gate(pause_at)

    async def paused() -> Any:
        _gate.set(gate)  # this task's context only
        return await first()

    first_task = asyncio.create_task(_capture(paused()))
    reached = asyncio.create_task(gate.reached.wait())
    await asyncio.wait({first_task, reached}, return_when=asyncio.FIRST_COMPLETED)
    if not gate.reached.is_set():
        reached.cancel()
        await first_task
        return None
    second_task = asyncio.create_task(_capture(second()))
    await asyncio.wait({second_task}, timeout=wait)
    gate.release.set()
    return await first_task, await second_task
