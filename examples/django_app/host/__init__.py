"""The example host project: Django's settings and URLs."""
