"""The object keys every store accepts, and the few a local folder cannot hold."""

from __future__ import annotations

import re

__all__ = ["LOCAL_META_DIR", "check_key", "check_local_key"]

#: The top-level folder of a local store that holds the content type of each object.
LOCAL_META_DIR = ".afisha-meta"

# A file name ending in "#<digits>" is how obstore's LocalStore names a file being
# written; it refuses such names for objects.
_STAGING_SUFFIX = re.compile(r"#\d+\Z")


def check_key(key: str) -> None:
    """Raise ``ValueError`` unless ``key`` is a key the ObjectStorage port allows.

    A key is a relative path of ``/``-separated segments: not empty, no leading ``/``,
    no empty, ``.`` or ``..`` segment, no backslash.
    """
    if not key:
        raise ValueError("an object key must be a non-empty string")
    if key.startswith("/"):
        raise ValueError(f"an object key must not start with '/': {key!r}")
    if "\\" in key:
        raise ValueError(f"an object key must not contain a backslash: {key!r}")
    segments = key.split("/")
    if ".." in segments:
        raise ValueError(f"an object key must not contain a '..' segment: {key!r}")
    if "." in segments:
        raise ValueError(f"an object key must not contain a '.' segment: {key!r}")
    if "" in segments:
        raise ValueError(
            f"an object key must not contain an empty segment ('//' or a trailing '/'): {key!r}"
        )


def check_local_key(key: str) -> None:
    """Like :func:`check_key`, plus what a local folder cannot hold.

    The first segment must not be the folder of content types (``.afisha-meta``),
    no segment may hold a NUL character, and the last one must not end in ``#``
    and digits (the names obstore gives files while it writes them).
    """
    check_key(key)
    if "\x00" in key:
        raise ValueError(f"an object key in a local folder must not contain NUL: {key!r}")
    if key.split("/", 1)[0] == LOCAL_META_DIR:
        raise ValueError(
            f"the first segment {LOCAL_META_DIR!r} is reserved by the local store: {key!r}"
        )
    if _STAGING_SUFFIX.search(key.rsplit("/", 1)[-1]):
        raise ValueError(f"an object key in a local folder must not end in '#' and digits: {key!r}")
