"""The S3 test server (moto, one per session) and a fresh bucket per test."""

from tests.support.s3_server import (
    aws_credentials_fixture,
    s3_bucket_fixture,
    s3_server_fixture,
)

__all__ = ["aws_credentials_fixture", "s3_bucket_fixture", "s3_server_fixture"]
