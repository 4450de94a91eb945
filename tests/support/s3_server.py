"""A real S3-compatible HTTP server for the tests: moto's ``ThreadedMotoServer``.

One server on a free port of 127.0.0.1 serves the whole test session, however many
test modules use the fixtures (it is reference-counted and stops with the last user).
Use the fixtures by importing them into a test module or a ``conftest.py``::

    from tests.support.s3_server import s3_bucket_fixture, s3_server_fixture  # noqa: F401

    def test_something(s3_bucket: S3Bucket) -> None: ...

``s3_bucket`` is a new, empty bucket per test, with fake credentials in
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` for that test only (every other
``AWS_*`` variable is removed meanwhile, so nothing of the machine leaks in).

moto accepts any credentials and does not check signatures or expiry of presigned
URLs; it does refuse an anonymous GET unless the bucket policy allows it
(:meth:`S3Server.make_public`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlencode

import httpx
import pytest
from moto.server import ThreadedMotoServer

__all__ = [
    "FAKE_ACCESS_KEY_ID",
    "FAKE_SECRET_ACCESS_KEY",
    "REGION",
    "S3Bucket",
    "S3Server",
    "aws_credentials_fixture",
    "closed_port",
    "s3_bucket_fixture",
    "s3_server_fixture",
    "shared_s3_server",
]

FAKE_ACCESS_KEY_ID: Final = "AKIAAFISHATESTKEY"
FAKE_SECRET_ACCESS_KEY: Final = "afisha-test-secret-access-key"
REGION: Final = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its endpoint, and bucket administration over plain HTTP."""

    endpoint: str

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (by default with a fresh random name) and return its name."""
        bucket = name or f"afisha-test-{uuid.uuid4().hex[:16]}"
        response = httpx.put(f"{self.endpoint}/{bucket}")
        response.raise_for_status()
        return bucket

    def make_public(self, bucket: str) -> None:
        """Let anyone GET the bucket's objects (a bucket policy, as for a public bucket)."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
        response = httpx.put(f"{self.endpoint}/{bucket}?policy", content=json.dumps(policy))
        response.raise_for_status()


@dataclass(frozen=True)
class S3Bucket:
    """A bucket of the test server, and the fake credentials the test runs with."""

    server: S3Server
    name: str
    access_key_id: str = FAKE_ACCESS_KEY_ID
    secret_access_key: str = FAKE_SECRET_ACCESS_KEY
    region: str = REGION

    @property
    def endpoint(self) -> str:
        """The server's URL (``http://127.0.0.1:<port>``)."""
        return self.server.endpoint

    @property
    def url(self) -> str:
        """The bucket's own URL (path-style), under which public objects are served."""
        return f"{self.server.endpoint}/{self.name}"

    def object_url(self, key: str) -> str:
        """The unsigned URL of an object of this bucket."""
        return f"{self.url}/{quote(key, safe='/')}"

    def storage_url(self, prefix: str = "", **params: str) -> str:
        """An ``s3://`` storage URL for this bucket on the test server, with ``params``."""
        query = urlencode({"endpoint": self.endpoint, "region": self.region, **params})
        path = f"/{prefix}" if prefix else ""
        return f"s3://{self.name}{path}?{query}"


_lock = threading.Lock()
_server: ThreadedMotoServer | None = None
_endpoint = ""
_users = 0


@contextmanager
def shared_s3_server() -> Iterator[S3Server]:
    """The session's moto server, started by the first user and stopped after the last."""
    global _server, _endpoint, _users  # noqa: PLW0603 - one server per process, by design
    with _lock:
        if _server is None:
            # werkzeug logs every request at INFO; the tests' output is clearer without.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            port = _free_port()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            _server, _endpoint = server, f"http://127.0.0.1:{port}"
        _users += 1
        endpoint = _endpoint
    try:
        yield S3Server(endpoint=endpoint)
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _server is not None:
                _server.stop()
                _server = None


@contextmanager
def closed_port() -> Iterator[int]:
    """A port of 127.0.0.1 where nothing listens (held, so nobody can start listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session", name="s3_server")
def s3_server_fixture() -> Iterator[S3Server]:
    """The moto S3 server of the test session."""
    with shared_s3_server() as server:
        yield server


@pytest.fixture(name="aws_credentials")
def aws_credentials_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials in the environment for this test only, and no other AWS_*."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)


@pytest.fixture(name="s3_bucket")
def s3_bucket_fixture(s3_server: S3Server, aws_credentials: None) -> S3Bucket:
    """A new, empty bucket on the session's server, with fake credentials set."""
    return S3Bucket(server=s3_server, name=s3_server.create_bucket())
