"""Afisha's server: the composition root, the ``afisha`` command and the ASGI applications.

This package reads the ``AFISHA_*`` configuration and wires the adapters to the core.
``afisha_server.asgi:app`` is the application configured from the environment (for
gunicorn, uvicorn, hypercorn); ``afisha_server.asgi:create_app(config=None)`` builds one.
Importing this package itself needs nothing beyond the standard library, so that a
missing extra gives a clear message instead of a traceback.
"""
