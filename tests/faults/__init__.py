"""Fault tests against real services."""
