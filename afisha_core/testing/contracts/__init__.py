"""Contract suites: one pytest class per port, which every adapter of the port runs.

An adapter's test module subclasses the suite and provides the adapter as a fixture;
see :mod:`afisha_core.testing.contracts.repositories` for the repositories and the
unit of work. These modules import pytest (the ``testing`` extra).
"""
