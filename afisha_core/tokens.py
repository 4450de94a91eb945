"""Secrets: tokens, verification codes and their hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["SecretsTokenGenerator", "hash_token", "tokens_equal"]


class SecretsTokenGenerator:
    """The :class:`~afisha_core.ports.TokenGenerator` of production, backed by ``secrets``."""

    def token(self) -> str:
        """A URL-safe token with 256 bits of randomness (43 characters)."""
        return secrets.token_urlsafe(32)

    def code(self) -> str:
        """A uniformly random 6-digit code, leading zeros kept."""
        return f"{secrets.randbelow(1_000_000):06d}"


def hash_token(token: str, *parts: str) -> str:
    """The hex SHA-256 of ``token`` (and ``parts``, separated unambiguously).

    Only these hashes are stored; a 256-bit token needs no salt or slow hash.
    """
    digest = hashlib.sha256(token.encode())
    for part in parts:
        digest.update(b"\x00")
        digest.update(part.encode())
    return digest.hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
