"""Afisha's server entry points for ASGI servers (gunicorn, uvicorn, hypercorn).

``afisha_server.asgi:app`` is the application configured from the ``AFISHA_*``
environment variables; ``afisha_server.asgi:create_app(config=None)`` builds one.
"""
