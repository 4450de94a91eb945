"""Afisha's HTTP API on Starlette, and the ``afisha`` command.

``create_app(runtime)`` gives the ASGI application of API.md; ``afisha serve`` builds
the runtime from ``AFISHA_*`` variables (``afisha_starlette.bootstrap``, the
composition root) and runs it with uvicorn.
"""

from afisha_starlette.app import create_app
from afisha_starlette.config import ConfigError, ServerConfig
from afisha_starlette.runtime import Runtime

__all__ = ["ConfigError", "Runtime", "ServerConfig", "create_app"]
