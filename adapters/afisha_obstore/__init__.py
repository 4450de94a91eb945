"""Afisha's pictures in an S3-compatible bucket, a local folder or memory, over obstore.

Usage::

    from afisha_obstore import ObstoreStorage

    storage = ObstoreStorage.from_url(
        os.environ.get("AFISHA_STORAGE_URL", "file://./afisha-data/media"),
        public_url=os.environ.get("AFISHA_PUBLIC_URL", "http://127.0.0.1:8080"),
    )
    await storage.ping()  # readiness: raises StorageUnavailable when the storage is not usable

Storage URLs:

- ``s3://bucket[/prefix]?endpoint=http://minio:9000&region=us-east-1&path_style=true``
  plus optionally ``allow_http``, ``public_url`` (objects are public under that URL) or
  ``presign`` (expiry of presigned GET URLs, default 1 hour), ``connect_timeout``,
  ``timeout``, ``max_retries``, ``retry_timeout``; credentials come from
  ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``;
- ``file://./afisha-data/media`` (relative) or ``file:///srv/afisha/media`` (absolute);
  the folder is created if missing;
- ``memory://``.

Objects of a local folder or memory are served by the HTTP app itself under
``<public_url>/media/<key>`` (:attr:`ObstoreStorage.served_by_app` tells which).

Keys follow the :class:`~afisha_core.ports.ObjectStorage` rules (a relative path of
``/``-separated segments: not empty, no leading ``/``, no empty, ``.`` or ``..``
segment, no backslash), else ``ValueError``. An unreachable storage, refused
credentials or a missing bucket raise :class:`StorageUnavailable` (a
:class:`~afisha_core.errors.ServiceUnavailable` for ``"storage"``: HTTP 503).
"""

from afisha_obstore._errors import StorageUnavailable
from afisha_obstore._storage import (
    DEFAULT_MEDIA_URL,
    DEFAULT_PRESIGN_EXPIRY,
    DEFAULT_PUBLIC_URL,
    MAX_PRESIGN_EXPIRY,
    MEDIA_PATH,
    ObstoreStorage,
)

__all__ = [
    "DEFAULT_MEDIA_URL",
    "DEFAULT_PRESIGN_EXPIRY",
    "DEFAULT_PUBLIC_URL",
    "MAX_PRESIGN_EXPIRY",
    "MEDIA_PATH",
    "ObstoreStorage",
    "StorageUnavailable",
]
