"""Tests of the APScheduler worker (a package, so its helper script runs with ``-m``)."""
