"""Afisha's server entry points: the ``afisha`` command and the ASGI applications.

This package is the composition root: it reads the ``AFISHA_*`` configuration and wires
the adapters to the core. Importing it needs nothing beyond the standard library, so
that a missing extra gives a clear message instead of a traceback.
"""
