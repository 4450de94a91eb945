"""Tests of the Redis rate limiter against the Redis server on the machine."""
