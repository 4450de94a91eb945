"""Afisha adapter (being built)."""
