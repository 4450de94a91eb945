"""The typed error the Redis rate limiter raises when Redis cannot be reached."""

from __future__ import annotations

from afisha_core.errors import ServiceUnavailable

__all__ = ["RateLimiterUnavailable"]


class RateLimiterUnavailable(ServiceUnavailable):
    """Redis, where the rate-limit counters live, cannot be reached or answered with an error.

    The limiter fails closed: the use case that asked stops here (the HTTP layer answers
    503 with ``Retry-After``) rather than letting an unlimited number of attempts
    through. ``service`` is ``"rate limiter"``; the Redis error is the ``__cause__``.
    """

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("rate limiter", detail)
