"""The second factor of a login: TOTP codes and recovery codes (not part of the public API)."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime

from afisha_core.ports import UnitOfWork
from afisha_core.tokens import hash_token
from afisha_core.totp import verify_totp

TOTP_CODE_RE = re.compile(r"^[0-9]{6}$")
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read off paper
_RECOVERY_RE = re.compile(rf"^[{_RECOVERY_ALPHABET}]{{10}}$")
MAX_CODE_LENGTH = 32


def new_recovery_code() -> str:
    """A new recovery code: 10 random characters (50 bits), shown as ``xxxxx-xxxxx``."""
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_recovery_code(code: str) -> str | None:
    """The canonical form of a typed recovery code (case, dashes and spaces forgiven).

    ``None`` when it cannot be a recovery code.
    """
    cleaned = code.strip().lower().replace("-", "").replace(" ", "")
    return cleaned if _RECOVERY_RE.fullmatch(cleaned) else None


def recovery_code_hash(user_id: uuid.UUID, normalized: str) -> str:
    """The stored hash of a user's recovery code (in its normalized form)."""
    return hash_token(normalized, "totp-recovery", str(user_id))


async def accept_second_factor(
    uow: UnitOfWork, user_id: uuid.UUID, code: str, now: datetime
) -> bool:
    """Whether ``code`` is a valid, unused second factor of the user; uses it up if so.

    A 6-digit code must match the user's confirmed secret within one time step either
    side of ``now`` and be newer than the last accepted one (recorded by a conditional
    write, so the same code raced twice is accepted once). Anything else is tried as a
    recovery code, which is marked used the same way. Call it with the user locked,
    in the unit of work that then commits the login (or the change) it allows.
    """
    code = code.strip()
    if not code or len(code) > MAX_CODE_LENGTH:
        return False
    if TOTP_CODE_RE.fullmatch(code):
        credential = await uow.totp.get(user_id)
        if credential is None or not credential.is_confirmed:
            return False
        step = verify_totp(credential.secret, code, now)
        return step is not None and await uow.totp.use_step(user_id, step)
    normalized = normalize_recovery_code(code)
    if normalized is None:
        return False
    return await uow.totp.use_recovery_code(user_id, recovery_code_hash(user_id, normalized), now)
