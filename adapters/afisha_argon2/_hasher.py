"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2PasswordHasher"]

# OWASP's minimum for argon2id: 19 MiB of memory, 2 passes, 1 lane.
MEMORY_COST_KIB: Final = 19 * 1024
TIME_COST: Final = 2
PARALLELISM: Final = 1


def _encode(password: str) -> bytes:
    """Return the UTF-8 bytes of ``password``, lone surrogates included.

    For every well-formed string this is plain UTF-8 (what other argon2
    implementations hash); ``surrogatepass`` only keeps a password holding a lone
    surrogate (which JSON can carry) from raising.
    """
    return password.encode("utf-8", "surrogatepass")


_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """The hashing threads, shared by every hasher of the process, made on first use."""
    global _EXECUTOR  # noqa: PLW0603 - one pool per process, made lazily
    if _EXECUTOR is None:
        workers = max(1, (os.cpu_count() or 2) - 1)
        _EXECUTOR = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
    return _EXECUTOR


class Argon2PasswordHasher:
    """A :class:`~afisha_core.ports.PasswordHasher` using argon2id from argon2-cffi.

    The defaults are argon2id with ``memory_cost=19456`` KiB (19 MiB), ``time_cost=2``
    and ``parallelism=1``, a 16-byte random salt and a 32-byte hash; each can be
    overridden. Hashes are PHC strings
    (``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>``) that carry their own parameters,
    so changing them later still verifies the old hashes, and :meth:`needs_rehash`
    tells which ones to rehash at the next successful login.

    Hashing and verifying run in worker threads (argon2 releases the GIL), so the
    event loop keeps serving other requests meanwhile. The threads are a pool of their
    own, one fewer than the CPUs (at least one): a storm of logins then queues for
    hashing instead of starving every other request of CPU.
    """

    def __init__(
        self,
        *,
        memory_cost: int = MEMORY_COST_KIB,
        time_cost: int = TIME_COST,
        parallelism: int = PARALLELISM,
        hash_len: int = 32,
        salt_len: int = 16,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=argon2.Type.ID,
        )

    def __repr__(self) -> str:
        params = self._hasher
        return (
            f"Argon2PasswordHasher(memory_cost={params.memory_cost}, "
            f"time_cost={params.time_cost}, parallelism={params.parallelism})"
        )

    async def hash(self, password: str) -> str:
        """Return a new salted argon2id hash of ``password`` (computed in a thread)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor(), self._hasher.hash, _encode(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether ``password`` matches ``password_hash`` (checked in a thread).

        ``False`` on a mismatch and for a hash that is malformed or not argon2;
        never raises for either. Hashes made with other parameters (or argon2i/d)
        still verify.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor(), self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether the hash was made with other parameters than the current ones.

        ``True`` for a hash this hasher cannot read; never raises.
        """
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            # Not a readable argon2 hash (InvalidHashError is a ValueError; so are
            # the UnicodeErrors of a non-ASCII string): replace it.
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        """Check the password, in the calling (worker) thread."""
        try:
            return self._hasher.verify(password_hash, _encode(password))
        except (VerificationError, InvalidHashError, ValueError):
            # VerifyMismatchError is a VerificationError: a wrong password. The rest:
            # a hash that is malformed, truncated, of another scheme or not ASCII.
            return False
