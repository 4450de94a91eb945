"""Afisha's HTTP API on Starlette: the ASGI application, and nothing else.

``create_app(runtime)`` gives the ASGI application over a wired core (a
:class:`Runtime`: the :class:`~afisha_core.app.Afisha` and what the HTTP layer needs
around it). Building the core from configuration is the composition root's job
(``afisha_server``), or yours when you embed the API in your own application.
"""

from afisha_starlette.app import create_app
from afisha_starlette.runtime import Runtime

__all__ = ["Runtime", "create_app"]
