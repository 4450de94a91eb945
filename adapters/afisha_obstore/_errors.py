"""Turning obstore's failures into the core's errors."""

from __future__ import annotations

from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

from afisha_core.errors import ServiceUnavailable

__all__ = ["StorageUnavailable", "is_missing_bucket", "unavailable"]


class StorageUnavailable(ServiceUnavailable):
    """The object storage cannot be reached, refuses our credentials, or has no bucket.

    ``service`` is ``"storage"``; the HTTP layer answers 503 with ``Retry-After``. The
    error obstore raised is chained as ``__cause__`` (it names hosts and paths, so it
    belongs in logs, not in the detail a client sees).
    """

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("storage", detail)


def is_missing_bucket(error: BaseException) -> bool:
    """Whether obstore's "not found" is really S3 saying the bucket does not exist."""
    return "NoSuchBucket" in str(error)


def unavailable(error: BaseException, action: str) -> StorageUnavailable:
    """The :class:`StorageUnavailable` to raise (``from error``) when ``action`` failed."""
    if isinstance(error, PermissionDeniedError | UnauthenticatedError):
        return StorageUnavailable(f"The object storage refused our credentials to {action}.")
    if is_missing_bucket(error):
        return StorageUnavailable(f"The storage bucket does not exist (while trying to {action}).")
    return StorageUnavailable(f"The object storage could not {action}; try again later.")
