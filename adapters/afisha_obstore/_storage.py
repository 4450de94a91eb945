"""The ObjectStorage port over obstore: S3-compatible buckets, a local folder, or memory."""

from __future__ import annotations

import asyncio
import json
import os
from collections import OrderedDict
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias, assert_never
from urllib.parse import quote, urlsplit, urlunsplit

import obstore
from obstore.exceptions import BaseError
from obstore.store import LocalStore, MemoryStore, S3Store

from afisha_core.clock import SystemClock
from afisha_core.ports import Clock, StoredObject
from afisha_obstore._errors import StorageUnavailable, is_missing_bucket, unavailable
from afisha_obstore._keys import LOCAL_META_DIR, check_key, check_local_key
from afisha_obstore._url import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_TIMEOUT,
    LocalSettings,
    MemorySettings,
    S3Settings,
    parse_storage_url,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

__all__ = [
    "DEFAULT_MEDIA_URL",
    "DEFAULT_PRESIGN_EXPIRY",
    "DEFAULT_PUBLIC_URL",
    "MAX_PRESIGN_EXPIRY",
    "MEDIA_PATH",
    "ObstoreStorage",
    "Store",
]

#: The stores an :class:`ObstoreStorage` can wrap.
Store: TypeAlias = S3Store | LocalStore | MemoryStore

#: Where the HTTP app serves objects of a local (or in-memory) store: ``/media/<key>``.
MEDIA_PATH: Final = "/media"
#: The app's own URL when nothing else is configured (``AFISHA_PUBLIC_URL``'s default).
DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8080"
#: The base URL of a local store's objects when nothing else is configured.
DEFAULT_MEDIA_URL: Final = DEFAULT_PUBLIC_URL + MEDIA_PATH
#: How long a presigned URL stays valid unless configured otherwise.
DEFAULT_PRESIGN_EXPIRY: Final = timedelta(hours=1)
#: The longest expiry S3 accepts for a presigned URL (signature version 4).
MAX_PRESIGN_EXPIRY: Final = timedelta(days=7)

_FALLBACK_CONTENT_TYPE: Final = "application/octet-stream"
# The content type of a local file whose sidecar is missing, by its extension.
_CONTENT_TYPE_BY_EXTENSION: Final = {
    "avif": "image/avif",
    "gif": "image/gif",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "svg": "image/svg+xml",
    "webp": "image/webp",
}
# How many presigned URLs are remembered (least recently used ones are dropped).
_PRESIGNED_CACHE_SIZE: Final = 4096
# Failures of a backing service; FileNotFoundError (a subclass of OSError) is handled
# before these wherever "not found" means "no object".
_FAILURES: Final = (BaseError, OSError)
# Where readiness lists (a prefix that holds nothing, so the answer is tiny).
_PING_PREFIX: Final = "afisha-readiness-probe"


class ObstoreStorage:
    """An :class:`~afisha_core.ports.ObjectStorage` over an obstore store.

    Build it with :meth:`from_url` (what ``AFISHA_STORAGE_URL`` holds), :meth:`s3`,
    :meth:`local` or :meth:`memory`, or wrap a store you made yourself.

    Content types: S3 and memory stores keep each object's content type as its
    ``Content-Type`` attribute (so S3 serves the object with it). A local folder has
    no metadata, so the content type goes into a small JSON sidecar at
    ``<folder>/.afisha-meta/<key>`` (written after the object, removed with it); an
    object without a readable sidecar (a file copied in by hand) gets the type of its
    extension, else ``application/octet-stream``. Objects themselves are plain files at
    ``<folder>/<key>``. The key segment ``.afisha-meta`` at the start of a key is
    therefore reserved in a local folder, as are file names ending in ``#`` and digits
    (obstore's temporary files).

    URLs: with ``base_url`` the URL of a key is ``base_url/<object path>`` (the path
    percent-encoded, slashes kept; for S3 the object path includes the store's
    prefix, so ``base_url`` is the bucket's public URL). Without it (S3 only) the URL
    is presigned for GET, valid for ``presign_expiry``; a signed URL is reused while at
    least half of its validity is left, so the URL of a key is stable for a while and
    browsers can cache the picture. Signing is local computation with static
    credentials; with credentials from a provider (instance metadata, web identity)
    the first signature may have to fetch them, so :meth:`ping` signs once ahead.

    Every operation raises ``ValueError`` for a key the port does not allow (see
    :mod:`afisha_obstore`) and :class:`StorageUnavailable` when the storage cannot be
    reached, refuses the credentials, or the bucket does not exist. Everything is
    async through obstore's own async functions; the few file-system checks of a local
    store run in a worker thread.
    """

    def __init__(
        self,
        store: Store,
        *,
        base_url: str | None = None,
        presign_expiry: timedelta = DEFAULT_PRESIGN_EXPIRY,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(store, S3Store | LocalStore | MemoryStore):
            raise TypeError(f"expected an S3Store, LocalStore or MemoryStore, got {store!r}")
        if isinstance(store, LocalStore) and store.prefix is None:
            raise ValueError("a LocalStore must have a folder (its prefix), not the whole disk")
        if base_url is None and not isinstance(store, S3Store):
            raise ValueError("a local or in-memory store needs base_url: it cannot sign URLs")
        if not timedelta(seconds=1) <= presign_expiry <= MAX_PRESIGN_EXPIRY:
            raise ValueError(
                f"presign_expiry must be between 1 second and 7 days, got {presign_expiry}"
            )
        self._store: Store = store
        self._base_url = None if base_url is None else _check_base_url(base_url, "base_url")
        self._presign_expiry = presign_expiry
        self._clock: Clock = SystemClock() if clock is None else clock
        self._presigned: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        self._s3_prefix = ""
        if isinstance(store, S3Store) and store.prefix:
            self._s3_prefix = store.prefix.strip("/") + "/"

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        public_url: str = DEFAULT_PUBLIC_URL,
        clock: Clock | None = None,
    ) -> ObstoreStorage:
        """Build the storage that a storage URL (``AFISHA_STORAGE_URL``) describes.

        - ``s3://bucket[/prefix]?endpoint=...&region=...&path_style=true&allow_http=...
          &public_url=...&presign=3600&connect_timeout=5s&timeout=30s&max_retries=3
          &retry_timeout=15s`` (every parameter optional; see :meth:`s3`);
        - ``file://./relative/folder``, ``file:///absolute/folder`` (or ``file:folder``);
        - ``memory://``.

        For ``file://`` and ``memory://`` the objects are served by the app itself at
        ``<public_url>/media/<key>``; ``public_url`` is the app's own URL
        (``AFISHA_PUBLIC_URL``). Raises ``ValueError`` naming the part of the URL that
        is wrong.
        """
        media_url = _check_base_url(public_url, "public_url") + MEDIA_PATH
        settings = parse_storage_url(url)
        match settings:
            case S3Settings():
                return cls.s3(
                    settings.bucket,
                    prefix=settings.prefix,
                    endpoint=settings.endpoint,
                    region=settings.region,
                    path_style=settings.path_style,
                    allow_http=settings.allow_http,
                    public_url=settings.public_url,
                    presign_expiry=(
                        DEFAULT_PRESIGN_EXPIRY
                        if settings.presign_expiry is None
                        else settings.presign_expiry
                    ),
                    connect_timeout=settings.connect_timeout,
                    timeout=settings.timeout,
                    max_retries=settings.max_retries,
                    retry_timeout=settings.retry_timeout,
                    clock=clock,
                )
            case LocalSettings():
                return cls.local(settings.directory, base_url=media_url)
            case MemorySettings():
                return cls.memory(base_url=media_url)
            case _:
                assert_never(settings)

    @classmethod
    def s3(
        cls,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        path_style: bool | None = None,
        allow_http: bool | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        public_url: str | None = None,
        presign_expiry: timedelta = DEFAULT_PRESIGN_EXPIRY,
        connect_timeout: timedelta = DEFAULT_CONNECT_TIMEOUT,
        timeout: timedelta = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_timeout: timedelta = DEFAULT_RETRY_TIMEOUT,
        clock: Clock | None = None,
    ) -> ObstoreStorage:
        """A storage in an S3-compatible bucket (AWS, MinIO, ...).

        ``endpoint`` is the server's URL (default: AWS in ``region``). Requests are
        path-style (``<endpoint>/<bucket>/<key>``) when ``path_style`` is true, the
        default when an endpoint is given; otherwise virtual-hosted
        (``<bucket>.<endpoint host>``), the default for AWS. ``allow_http`` defaults to
        whether the endpoint is ``http://``. Credentials are given explicitly (both
        ``access_key_id`` and ``secret_access_key``) or else come from the standard
        ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``)
        variables, which obstore reads here, with the rest of the usual ``AWS_*``
        ones (``AWS_REGION``, ...). ``prefix`` puts every key under a folder of the bucket.

        URLs are ``<public_url>/<prefix/><key>`` when ``public_url`` (the bucket's
        public URL, e.g. a CDN) is given, else presigned GET URLs valid for
        ``presign_expiry``. A request gives up after ``max_retries`` retries or
        ``retry_timeout``, each attempt after ``timeout`` (``connect_timeout`` to connect).
        """
        if not bucket:
            raise ValueError("an S3 storage needs a bucket name")
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, got {max_retries}")
        if public_url is not None:
            public_url = _check_base_url(public_url, "public_url")
        config = _s3_credentials(access_key_id, secret_access_key, session_token)
        if region is not None:
            config["region"] = region
        if endpoint is not None:
            endpoint = _check_endpoint(endpoint)
            if allow_http is None:
                allow_http = endpoint.startswith("http://")
            elif not allow_http and endpoint.startswith("http://"):
                raise ValueError("endpoint is http:// but allow_http is false")
        if path_style is None:
            path_style = endpoint is not None
        if endpoint is not None:
            config["endpoint"] = endpoint if path_style else _bucket_host(endpoint, bucket)
        config["virtual_hosted_style_request"] = not path_style
        client_options: ClientConfig = {
            "allow_http": bool(allow_http),
            "connect_timeout": connect_timeout,
            "timeout": timeout,
        }
        retry_config: RetryConfig = {
            "max_retries": max_retries,
            "retry_timeout": retry_timeout,
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
        }
        prefix = prefix.strip("/")
        if prefix:
            check_key(prefix)
        try:
            store = S3Store(
                bucket,
                prefix=prefix or None,
                config=config,
                client_options=client_options,
                retry_config=retry_config,
            )
        except BaseError as exc:
            raise ValueError(f"the S3 configuration is not valid: {exc}") from exc
        return cls(store, base_url=public_url, presign_expiry=presign_expiry, clock=clock)

    @classmethod
    def local(
        cls, directory: str | os.PathLike[str], *, base_url: str = DEFAULT_MEDIA_URL
    ) -> ObstoreStorage:
        """A storage in a local folder, created (with its parents) if missing.

        A relative ``directory`` is resolved against the current directory now. The URL
        of a key is ``<base_url>/<key>``: the app serves the folder at ``/media``.
        """
        folder = Path(directory).expanduser().resolve()
        try:
            store = LocalStore(folder, mkdir=True, automatic_cleanup=True)
        except _FAILURES as exc:
            raise StorageUnavailable(f"The media folder {folder} cannot be created.") from exc
        return cls(store, base_url=base_url)

    @classmethod
    def memory(cls, *, base_url: str = DEFAULT_MEDIA_URL) -> ObstoreStorage:
        """A storage in memory (gone with the process), served by the app at ``base_url``."""
        return cls(MemoryStore(), base_url=base_url)

    # --- what it is ---------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The obstore store underneath."""
        return self._store

    @property
    def served_by_app(self) -> bool:
        """Whether the HTTP app must serve the objects itself (under :data:`MEDIA_PATH`).

        True for a local folder or memory: their URLs point at the app, which answers
        ``GET /media/<key>`` with :meth:`get`. False for S3, whose URLs point at the bucket.
        """
        return not isinstance(self._store, S3Store)

    def __repr__(self) -> str:
        return f"ObstoreStorage({self._store!r})"

    # --- the port -----------------------------------------------------------------------

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` with its content type, replacing any object there."""
        self._check_key(key)
        _check_content_type(content_type)
        if isinstance(self._store, LocalStore):
            await self._put_local(self._store, key, data, content_type)
            return
        try:
            await obstore.put_async(
                self._store,
                key,
                data,
                attributes={"Content-Type": content_type},
                use_multipart=False,
            )
        except _FAILURES as exc:
            raise unavailable(exc, "store an object") from exc

    async def get(self, key: str) -> StoredObject | None:
        """The object under ``key`` with its content type, or ``None``."""
        self._check_key(key)
        try:
            result = await obstore.get_async(self._store, key)
            data = (await result.bytes_async()).to_bytes()
        except FileNotFoundError as exc:
            if is_missing_bucket(exc):
                raise unavailable(exc, "read an object") from exc
            return None
        except _FAILURES as exc:
            raise unavailable(exc, "read an object") from exc
        if isinstance(self._store, LocalStore):
            content_type = await self._local_content_type(self._store, key)
        else:
            content_type = result.attributes.get("Content-Type") or _guess_content_type(key)
        return StoredObject(data=data, content_type=content_type)

    async def delete(self, key: str) -> None:
        """Remove the object under ``key``; no error if there is none."""
        self._check_key(key)
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError as exc:
            if is_missing_bucket(exc):
                raise unavailable(exc, "delete an object") from exc
        except _FAILURES as exc:
            folder = self._local_folder()
            if folder is None or not await asyncio.to_thread((folder / key).is_dir):
                raise unavailable(exc, "delete an object") from exc
            return  # the key names a folder of other objects: there is no object to delete
        if isinstance(self._store, LocalStore):
            try:
                await obstore.delete_async(self._store, _meta_path(key))
            except FileNotFoundError:
                pass
            except _FAILURES as exc:
                raise unavailable(exc, "delete an object") from exc

    def url(self, key: str) -> str:
        """An absolute URL at which a browser can fetch the object (see the class doc)."""
        self._check_key(key)
        if self._base_url is not None:
            return f"{self._base_url}/{quote(self._s3_prefix + key, safe='/')}"
        return self._presigned_url(key)

    # --- readiness ----------------------------------------------------------------------

    async def ping(self) -> None:
        """Check that the storage is usable; raise :class:`StorageUnavailable` if not.

        S3: lists an empty prefix of the bucket (needs ``s3:ListBucket``), which fails
        when the server is down, the credentials are refused or the bucket is missing;
        then, for presigned URLs, signs one (fetching credentials if a provider gives
        them). A local folder: (re)creates it and checks that it is a writable folder.
        Memory: always ready.
        """
        if isinstance(self._store, S3Store):
            try:
                await obstore.list_with_delimiter_async(self._store, _PING_PREFIX)
                if self._base_url is None:
                    await obstore.sign_async(self._store, "GET", _PING_PREFIX, timedelta(minutes=1))
            except _FAILURES as exc:
                raise unavailable(exc, "list the bucket") from exc
            return
        folder = self._local_folder()
        if folder is not None and not await asyncio.to_thread(_usable_folder, folder):
            raise StorageUnavailable("The media folder is missing or not writable.")

    # --- internals ----------------------------------------------------------------------

    def _check_key(self, key: str) -> None:
        if isinstance(self._store, LocalStore):
            check_local_key(key)
        else:
            check_key(key)

    def _local_folder(self) -> Path | None:
        if isinstance(self._store, LocalStore):
            return self._store.prefix
        return None

    def _presigned_url(self, key: str) -> str:
        now = self._clock.now()
        cached = self._presigned.get(key)
        if cached is not None:
            signed_url, signed_at = cached
            if signed_at <= now < signed_at + self._presign_expiry / 2:
                self._presigned.move_to_end(key)
                return signed_url
        # Only an S3Store has no base_url (checked in __init__).
        assert isinstance(self._store, S3Store)  # noqa: S101 - narrows the type for mypy
        try:
            signed_url = obstore.sign(self._store, "GET", key, self._presign_expiry)
        except _FAILURES as exc:
            raise unavailable(exc, "sign a URL") from exc
        self._presigned[key] = (signed_url, now)
        self._presigned.move_to_end(key)
        if len(self._presigned) > _PRESIGNED_CACHE_SIZE:
            self._presigned.popitem(last=False)
        return signed_url

    async def _put_local(self, store: LocalStore, key: str, data: bytes, content_type: str) -> None:
        try:
            await obstore.put_async(store, key, data)
        except _FAILURES as exc:
            folder = store.prefix
            assert folder is not None  # noqa: S101 - checked in __init__
            conflict = await asyncio.to_thread(_folder_conflict, folder, key)
            if conflict is not None:
                raise ValueError(conflict) from exc
            raise unavailable(exc, "store an object") from exc
        sidecar = json.dumps({"content_type": content_type}).encode()
        try:
            await obstore.put_async(store, _meta_path(key), sidecar)
        except _FAILURES as exc:
            raise unavailable(exc, "store an object's content type") from exc

    async def _local_content_type(self, store: LocalStore, key: str) -> str:
        try:
            result = await obstore.get_async(store, _meta_path(key))
            raw = (await result.bytes_async()).to_bytes()
        except FileNotFoundError:
            return _guess_content_type(key)
        except _FAILURES as exc:
            raise unavailable(exc, "read an object's content type") from exc
        try:
            content_type = json.loads(raw)["content_type"]
        except (ValueError, KeyError, TypeError):
            return _guess_content_type(key)
        if not isinstance(content_type, str) or not content_type:
            return _guess_content_type(key)
        return content_type


def _meta_path(key: str) -> str:
    return f"{LOCAL_META_DIR}/{key}"


def _guess_content_type(key: str) -> str:
    _, dot, extension = key.rpartition("/")[2].rpartition(".")
    if not dot:
        return _FALLBACK_CONTENT_TYPE
    return _CONTENT_TYPE_BY_EXTENSION.get(extension.lower(), _FALLBACK_CONTENT_TYPE)


def _check_content_type(content_type: str) -> None:
    if not content_type.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in content_type):
        raise ValueError(f"a content type must be a non-empty header value, got {content_type!r}")


def _check_base_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{what} must be an absolute http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not have a query or a fragment, got {url!r}")
    return url.rstrip("/")


def _check_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"endpoint must be an http:// or https:// URL, got {endpoint!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("endpoint must not hold credentials; use AWS_ACCESS_KEY_ID instead")
    if parts.query or parts.fragment:
        raise ValueError(f"endpoint must not have a query or a fragment, got {endpoint!r}")
    return endpoint.rstrip("/")


def _s3_credentials(
    access_key_id: str | None, secret_access_key: str | None, session_token: str | None
) -> S3Config:
    """The credentials part of an S3 configuration (empty: obstore reads ``AWS_*``)."""
    if access_key_id is None and secret_access_key is None:
        if session_token is not None:
            raise ValueError("session_token needs access_key_id and secret_access_key")
        return {}
    if access_key_id is None or secret_access_key is None:
        raise ValueError("give both access_key_id and secret_access_key, or neither")
    config: S3Config = {"access_key_id": access_key_id, "secret_access_key": secret_access_key}
    if session_token is not None:
        config["session_token"] = session_token
    return config


def _bucket_host(endpoint: str, bucket: str) -> str:
    """The endpoint of a virtual-hosted bucket: the bucket name before the host."""
    parts = urlsplit(endpoint)
    return urlunsplit(parts._replace(netloc=f"{bucket}.{parts.netloc}"))


def _folder_conflict(folder: Path, key: str) -> str | None:
    """Why ``key`` cannot be a file in ``folder`` (a folder or a file is in the way), if so."""
    target = folder / key
    if target.is_dir():
        return f"the key {key!r} is a folder of other objects in the local store"
    for parent in target.parents:
        if parent == folder:
            break
        if parent.exists() and not parent.is_dir():
            taken = parent.relative_to(folder).as_posix()
            return f"the key {key!r} needs {taken!r} as a folder, but an object is stored there"
    return None


def _usable_folder(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
