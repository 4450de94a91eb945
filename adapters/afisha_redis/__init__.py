"""The Redis adapter: a :class:`~afisha_core.ports.RateLimiter` shared by every process.

Counters are fixed-window, counted atomically by a Lua script on the server, and keyed
under a per-deployment prefix. When Redis cannot be reached the limiter fails closed
with :class:`RateLimiterUnavailable` (a
:class:`~afisha_core.errors.ServiceUnavailable`, so the HTTP layer answers 503).

>>> limiter = RedisRateLimiter.from_url("redis://127.0.0.1:6379/0", prefix="afisha:")
... # doctest: +SKIP
"""

from afisha_redis._errors import RateLimiterUnavailable
from afisha_redis._limiter import RedisRateLimiter

__all__ = ["RateLimiterUnavailable", "RedisRateLimiter"]
