"""The ObjectStorage contract against ObstoreStorage over each obstore store it supports.

S3 runs against a real S3 HTTP endpoint (moto's server, one per session, a fresh bucket
per test); the local store writes into a temporary folder; the memory store is obstore's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afisha_core.ports import ObjectStorage
from afisha_core.testing.contracts.object_storage import ObjectStorageContract
from afisha_obstore import ObstoreStorage
from tests.support.s3_server import (  # noqa: F401 - pytest fixtures, used by name
    S3Bucket,
    aws_credentials_fixture,
    s3_bucket_fixture,
    s3_server_fixture,
)


class TestObstoreS3PresignedStorage(ObjectStorageContract):
    """S3 with presigned URLs and the credentials from AWS_ACCESS_KEY_ID/SECRET."""

    @pytest.fixture
    def storage(self, s3_bucket: S3Bucket) -> ObjectStorage:
        return ObstoreStorage.s3(s3_bucket.name, endpoint=s3_bucket.endpoint, region="us-east-1")


class TestObstoreS3PublicStorage(ObjectStorageContract):
    """S3 under a key prefix, with public URLs and explicit credentials."""

    @pytest.fixture
    def storage(self, s3_bucket: S3Bucket) -> ObjectStorage:
        return ObstoreStorage.s3(
            s3_bucket.name,
            prefix="media",
            endpoint=s3_bucket.endpoint,
            region=s3_bucket.region,
            access_key_id="AKIAEXPLICITKEY",
            secret_access_key="explicit-secret",
            public_url=s3_bucket.url,
        )


class TestObstoreS3StorageFromUrl(ObjectStorageContract):
    """S3 configured by a storage URL, as AFISHA_STORAGE_URL does."""

    @pytest.fixture
    def storage(self, s3_bucket: S3Bucket) -> ObjectStorage:
        return ObstoreStorage.from_url(s3_bucket.storage_url(path_style="true", presign="10m"))


class TestObstoreLocalStorage(ObjectStorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> ObjectStorage:
        return ObstoreStorage.local(tmp_path / "afisha-data" / "media")


class TestObstoreMemoryStorage(ObjectStorageContract):
    @pytest.fixture
    def storage(self) -> ObjectStorage:
        return ObstoreStorage.memory(base_url="https://afisha.example.com/media")
