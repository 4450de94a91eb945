"""ObstoreStorage beyond the contract: S3 details against moto, storage URLs, local folders.

S3 tests talk HTTP to moto's server (started once per session by the fixtures in
``tests/support/s3_server.py``), each in a fresh bucket with fake credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from obstore.store import LocalStore, S3Store

from afisha_core.errors import ServiceUnavailable
from afisha_core.ports import StoredObject
from afisha_core.testing import FakeClock
from afisha_obstore import ObstoreStorage, StorageUnavailable
from tests.support.s3_server import FAKE_ACCESS_KEY_ID, S3Bucket, closed_port

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(range(64))

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def s3_storage(bucket: S3Bucket, **options: object) -> ObstoreStorage:
    return ObstoreStorage.s3(
        bucket.name,
        endpoint=bucket.endpoint,
        region=bucket.region,
        **options,  # type: ignore[arg-type]  # each test passes what s3() takes
    )


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- S3: objects and their content type ------------------------------------------------


async def test_s3_keeps_the_content_type_on_the_object_itself(
    s3_bucket: S3Bucket, http: httpx.AsyncClient
) -> None:
    storage = s3_storage(s3_bucket)
    await storage.put("events/1/picture", PNG, "image/png")

    response = await http.get(storage.url("events/1/picture"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == PNG

    await storage.put("events/1/picture", WEBP, "image/webp")

    response = await http.get(storage.url("events/1/picture"))
    assert response.headers["content-type"] == "image/webp"
    assert await storage.get("events/1/picture") == StoredObject(
        data=WEBP, content_type="image/webp"
    )


async def test_s3_put_get_delete(s3_bucket: S3Bucket, http: httpx.AsyncClient) -> None:
    storage = s3_storage(s3_bucket)
    s3_bucket.server.make_public(s3_bucket.name)

    await storage.put("events/2/a b+c.jpg", b"\xff\xd8\xff jpeg", "image/jpeg")

    stored = await storage.get("events/2/a b+c.jpg")
    assert stored == StoredObject(data=b"\xff\xd8\xff jpeg", content_type="image/jpeg")
    assert (await http.get(s3_bucket.object_url("events/2/a b+c.jpg"))).status_code == 200

    await storage.delete("events/2/a b+c.jpg")

    assert await storage.get("events/2/a b+c.jpg") is None
    assert (await http.get(s3_bucket.object_url("events/2/a b+c.jpg"))).status_code == 404
    await storage.delete("events/2/a b+c.jpg")  # gone already: no error


async def test_s3_prefix_puts_every_key_under_it(
    s3_bucket: S3Bucket, http: httpx.AsyncClient
) -> None:
    storage = s3_storage(s3_bucket, prefix="/afisha/media/")
    s3_bucket.server.make_public(s3_bucket.name)

    await storage.put("events/3/image.png", PNG, "image/png")

    raw = await http.get(s3_bucket.object_url("afisha/media/events/3/image.png"))
    assert raw.content == PNG
    assert (await http.get(s3_bucket.object_url("events/3/image.png"))).status_code == 404


# --- S3: URLs -----------------------------------------------------------------------------


async def test_presigned_url_serves_the_object_over_http(
    s3_bucket: S3Bucket, http: httpx.AsyncClient
) -> None:
    storage = s3_storage(s3_bucket, presign_expiry=timedelta(minutes=2))
    await storage.put("events/4/image.png", PNG, "image/png")

    url = storage.url("events/4/image.png")

    assert url.startswith(f"{s3_bucket.url}/events/4/image.png?")
    query = query_of(url)
    assert query["X-Amz-Expires"] == "120"
    assert query["X-Amz-Credential"].startswith(f"{FAKE_ACCESS_KEY_ID}/")
    assert "X-Amz-Signature" in query
    response = await http.get(url)
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    # The signature is what grants access: the same URL without it is refused.
    assert (await http.get(url.split("?", 1)[0])).status_code == 403


async def test_presigned_url_is_reused_then_renewed_before_it_expires(
    s3_bucket: S3Bucket, http: httpx.AsyncClient
) -> None:
    clock = FakeClock()
    storage = s3_storage(s3_bucket, presign_expiry=timedelta(minutes=10), clock=clock)
    await storage.put("events/5/image.png", PNG, "image/png")
    first = storage.url("events/5/image.png")
    # A new signature made now would carry another X-Amz-Date (signatures are per second).
    await asyncio.sleep(1.05 - time.time() % 1)

    assert storage.url("events/5/image.png") == first

    clock.advance(timedelta(minutes=4, seconds=59))
    assert storage.url("events/5/image.png") == first
    clock.advance(timedelta(seconds=1))  # half of the expiry is gone: sign anew
    renewed = storage.url("events/5/image.png")
    assert renewed != first
    assert query_of(renewed)["X-Amz-Date"] > query_of(first)["X-Amz-Date"]
    assert (await http.get(renewed)).content == PNG
    assert storage.url("events/5/image.png") == renewed


async def test_public_url_is_the_public_base_and_the_key(
    s3_bucket: S3Bucket, http: httpx.AsyncClient
) -> None:
    storage = s3_storage(s3_bucket, public_url=s3_bucket.url + "/")
    s3_bucket.server.make_public(s3_bucket.name)
    await storage.put("events/6/a picture+1.png", PNG, "image/png")

    url = storage.url("events/6/a picture+1.png")

    assert url == f"{s3_bucket.url}/events/6/a%20picture%2B1.png"
    response = await http.get(url)
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"


async def test_public_url_of_a_prefixed_store_includes_the_prefix(s3_bucket: S3Bucket) -> None:
    storage = s3_storage(s3_bucket, prefix="media", public_url="https://cdn.example.com/bucket")

    assert storage.url("events/7/x.png") == "https://cdn.example.com/bucket/media/events/7/x.png"


async def test_explicit_credentials_win_over_the_environment(
    s3_bucket: S3Bucket, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    storage = s3_storage(
        s3_bucket,
        access_key_id="AKIAEXPLICIT",
        secret_access_key="explicit-secret",
        session_token="explicit-token",
    )
    await storage.put("events/8/image.png", PNG, "image/png")

    url = storage.url("events/8/image.png")

    assert query_of(url)["X-Amz-Credential"].startswith("AKIAEXPLICIT/")
    assert query_of(url)["X-Amz-Security-Token"] == "explicit-token"
    assert (await http.get(url)).content == PNG


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"access_key_id": "AKIA"}, "both access_key_id and secret_access_key"),
        ({"secret_access_key": "s"}, "both access_key_id and secret_access_key"),
        ({"session_token": "t"}, "session_token needs"),
    ],
)
async def test_partial_credentials_are_refused(
    s3_bucket: S3Bucket, credentials: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        s3_storage(s3_bucket, **credentials)


# --- S3: failures ---------------------------------------------------------------------------


async def test_ping_passes_on_a_reachable_bucket(s3_bucket: S3Bucket) -> None:
    await s3_storage(s3_bucket).ping()
    await s3_storage(s3_bucket, public_url=s3_bucket.url).ping()


async def test_a_missing_bucket_makes_the_storage_unavailable(s3_bucket: S3Bucket) -> None:
    storage = ObstoreStorage.s3(
        "afisha-no-such-bucket", endpoint=s3_bucket.endpoint, region=s3_bucket.region
    )

    with pytest.raises(StorageUnavailable, match="bucket does not exist"):
        await storage.ping()
    with pytest.raises(StorageUnavailable):
        await storage.put("events/9/image.png", PNG, "image/png")
    with pytest.raises(StorageUnavailable):
        await storage.get("events/9/image.png")
    with pytest.raises(StorageUnavailable):
        await storage.delete("events/9/image.png")


@pytest.mark.usefixtures("aws_credentials")
async def test_an_endpoint_on_a_closed_port_is_unavailable_quickly() -> None:
    with closed_port() as port:
        storage = ObstoreStorage.from_url(
            f"s3://afisha-media?endpoint=http://127.0.0.1:{port}&region=us-east-1"
            "&connect_timeout=1s&timeout=2s&max_retries=1&retry_timeout=2s"
        )
        started = time.monotonic()

        with pytest.raises(StorageUnavailable) as put_error:
            await storage.put("events/10/image.png", PNG, "image/png")
        with pytest.raises(StorageUnavailable):
            await storage.get("events/10/image.png")
        with pytest.raises(StorageUnavailable):
            await storage.delete("events/10/image.png")
        with pytest.raises(StorageUnavailable):
            await storage.ping()

        assert time.monotonic() - started < 10
    error = put_error.value
    assert isinstance(error, ServiceUnavailable)
    assert error.service == "storage"
    assert error.status == 503
    assert error.code == "service_unavailable"
    assert error.__cause__ is not None
    assert str(port) not in error.detail  # hosts and ports stay in the logs


# --- storage URLs -------------------------------------------------------------------------


async def test_an_s3_url_configures_the_whole_storage(
    s3_bucket: S3Bucket, http: httpx.AsyncClient
) -> None:
    storage = ObstoreStorage.from_url(
        s3_bucket.storage_url("afisha", path_style="true", presign="90s", max_retries="0")
    )
    await storage.put("events/11/image.png", PNG, "image/png")

    url = storage.url("events/11/image.png")

    assert url.startswith(f"{s3_bucket.url}/afisha/events/11/image.png?")
    assert query_of(url)["X-Amz-Expires"] == "90"
    assert (await http.get(url)).content == PNG
    assert await storage.get("events/11/image.png") == StoredObject(
        data=PNG, content_type="image/png"
    )
    assert not storage.served_by_app


async def test_an_s3_url_with_public_url_gives_public_urls(s3_bucket: S3Bucket) -> None:
    storage = ObstoreStorage.from_url(
        s3_bucket.storage_url(public_url="https://media.example.com/afisha-media")
    )

    assert storage.url("events/1/a.png") == "https://media.example.com/afisha-media/events/1/a.png"


@pytest.mark.usefixtures("aws_credentials")
@pytest.mark.parametrize(
    ("url", "object_url"),
    [
        # an endpoint: path-style by default
        ("s3://media?endpoint=http://minio:9000", "http://minio:9000/media/k.png?"),
        (
            "s3://media?endpoint=https://minio.example.com/",
            "https://minio.example.com/media/k.png?",
        ),
        # virtual-hosted: the bucket goes in front of the endpoint's host
        (
            "s3://media?endpoint=https://minio.example.com&path_style=false",
            "https://media.minio.example.com/k.png?",
        ),
        # AWS: virtual-hosted by default
        ("s3://media?region=eu-west-1", "https://media.s3.eu-west-1.amazonaws.com/k.png?"),
        (
            "s3://media?region=eu-west-1&path_style=true",
            "https://s3.eu-west-1.amazonaws.com/media/k.png?",
        ),
        ("s3://media/pre/fix?endpoint=http://m:9000", "http://m:9000/media/pre/fix/k.png?"),
    ],
)
async def test_s3_url_addressing(url: str, object_url: str) -> None:
    storage = ObstoreStorage.from_url(url)

    assert storage.url("k.png").startswith(object_url)
    assert isinstance(storage.store, S3Store)


@pytest.mark.usefixtures("aws_credentials")
async def test_s3_url_allow_http_follows_the_endpoint() -> None:
    http_store = ObstoreStorage.from_url("s3://media?endpoint=http://minio:9000").store
    https_store = ObstoreStorage.from_url("s3://media?endpoint=https://minio:9000").store
    forced = ObstoreStorage.from_url("s3://media?endpoint=https://m:9000&allow_http=true").store

    assert isinstance(http_store, S3Store)
    assert isinstance(https_store, S3Store)
    assert isinstance(forced, S3Store)
    assert (http_store.client_options or {}).get("allow_http") in {True, "true"}
    assert (https_store.client_options or {}).get("allow_http") in {False, "false"}
    assert (forced.client_options or {}).get("allow_http") in {True, "true"}


async def test_memory_url_is_served_by_the_app() -> None:
    storage = ObstoreStorage.from_url("memory://", public_url="https://afisha.example.com/")
    await storage.put("events/1/a b.png", PNG, "image/png")

    assert storage.served_by_app
    assert storage.url("events/1/a b.png") == "https://afisha.example.com/media/events/1/a%20b.png"
    assert await storage.get("events/1/a b.png") == StoredObject(data=PNG, content_type="image/png")
    assert ObstoreStorage.from_url("memory:///").url("x") == "http://127.0.0.1:8080/media/x"


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        ("file://./afisha-data/media", "afisha-data/media"),
        ("file://afisha-data/media", "afisha-data/media"),
        ("file:afisha-data/media", "afisha-data/media"),
        ("file://./my%20media/", "my media"),
    ],
)
async def test_relative_file_url_is_resolved_against_the_current_directory(
    url: str, relative: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    storage = ObstoreStorage.from_url(url)
    await storage.put("events/1/image.png", PNG, "image/png")

    assert isinstance(storage.store, LocalStore)
    assert storage.served_by_app
    assert (tmp_path / relative / "events/1/image.png").read_bytes() == PNG
    assert storage.url("events/1/image.png") == "http://127.0.0.1:8080/media/events/1/image.png"


@pytest.mark.parametrize("host", ["", "localhost"])
async def test_absolute_file_url(tmp_path: Path, host: str) -> None:
    storage = ObstoreStorage.from_url(
        f"file://{host}{tmp_path}/srv/afisha", public_url="http://afisha.local:8000"
    )
    await storage.put("events/1/image.png", PNG, "image/png")

    assert (tmp_path / "srv/afisha/events/1/image.png").read_bytes() == PNG
    assert storage.url("events/1/image.png") == "http://afisha.local:8000/media/events/1/image.png"


@pytest.mark.usefixtures("aws_credentials")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "storage URL is empty"),
        ("afisha-data/media", "has no scheme"),
        ("ftp://files/media", "scheme 'ftp' is not supported"),
        ("s3://", "names no bucket"),
        ("s3://?endpoint=http://minio:9000", "names no bucket"),
        ("s3://bad_bucket!", "bucket name 'bad_bucket!'"),
        ("s3://media/a/../b", "key prefix"),
        ("s3://media?colour=blue", "unknown parameter 'colour'"),
        ("s3://media?region=eu-west-1&region=us-east-1", "'region' is given twice"),
        ("s3://media?region=", "'region' is empty"),
        ("s3://media?path_style=maybe", "'path_style' must be true or false"),
        ("s3://media?allow_http=sometimes", "'allow_http' must be true or false"),
        ("s3://media?presign=soon", "'presign' must be a duration"),
        ("s3://media?presign=8d", "between 1 second and 7 days"),
        ("s3://media?presign=0", "between 1 second and 7 days"),
        ("s3://media?timeout=forever", "'timeout' must be a duration"),
        ("s3://media?max_retries=-1", "'max_retries' must be a whole number"),
        ("s3://media?public_url=https://cdn&presign=60", "both 'public_url' and 'presign'"),
        ("s3://media?public_url=cdn.example.com", "public_url must be an absolute"),
        ("s3://media?endpoint=minio:9000", "endpoint must be an http"),
        ("s3://media?endpoint=http://minio:9000&allow_http=false", "allow_http is false"),
        ("s3://media#images", "#fragment"),
        ("file://", "names no folder"),
        ("file://./media?mode=0700", "unknown parameter 'mode' in the file storage URL"),
        ("memory://images", "just 'memory://'"),
        ("memory://?size=10", "just 'memory://'"),
    ],
)
async def test_bad_storage_urls_are_refused_naming_the_bad_part(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ObstoreStorage.from_url(url)


async def test_credentials_in_an_s3_url_are_refused_without_repeating_them() -> None:
    with pytest.raises(ValueError, match="must not hold credentials") as error:
        ObstoreStorage.from_url("s3://AKIAKEY:top-secret@media?endpoint=http://m:9000")

    assert "top-secret" not in str(error.value)


async def test_a_bad_public_url_is_refused() -> None:
    with pytest.raises(ValueError, match="public_url must be an absolute http"):
        ObstoreStorage.from_url("memory://", public_url="127.0.0.1:8080")


# --- local folders --------------------------------------------------------------------------


async def test_local_store_creates_its_folder_and_survives_a_new_instance(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    storage = ObstoreStorage.local(folder)
    assert folder.is_dir()
    await storage.put("events/1/image", PNG, "image/png")
    await storage.put("events/2/image.webp", WEBP, "image/webp")

    reopened = ObstoreStorage.local(folder)

    assert await reopened.get("events/1/image") == StoredObject(data=PNG, content_type="image/png")
    assert await reopened.get("events/2/image.webp") == StoredObject(
        data=WEBP, content_type="image/webp"
    )


async def test_local_objects_are_plain_files_with_a_sidecar_for_the_content_type(
    tmp_path: Path,
) -> None:
    storage = ObstoreStorage.local(tmp_path)

    await storage.put("events/1/image.png", PNG, "image/png")

    assert (tmp_path / "events/1/image.png").read_bytes() == PNG
    sidecar = json.loads((tmp_path / ".afisha-meta/events/1/image.png").read_text())
    assert sidecar == {"content_type": "image/png"}
    assert files_under(tmp_path) == [".afisha-meta/events/1/image.png", "events/1/image.png"]


async def test_local_delete_removes_the_object_its_sidecar_and_empty_folders(
    tmp_path: Path,
) -> None:
    storage = ObstoreStorage.local(tmp_path / "media")
    await storage.put("events/1/image.png", PNG, "image/png")
    await storage.put("events/2/image.png", PNG, "image/png")

    await storage.delete("events/1/image.png")

    assert files_under(tmp_path / "media") == [
        ".afisha-meta/events/2/image.png",
        "events/2/image.png",
    ]
    assert not (tmp_path / "media/events/1").exists()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("photo.JPG", "image/jpeg"),
        ("photo.webp", "image/webp"),
        ("photo.png", "image/png"),
        ("notes.txt", "application/octet-stream"),
        ("no-extension", "application/octet-stream"),
    ],
)
async def test_a_file_without_sidecar_gets_the_type_of_its_extension(
    tmp_path: Path, name: str, content_type: str
) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / name).write_bytes(b"copied in by hand")
    storage = ObstoreStorage.local(tmp_path)

    stored = await storage.get(f"events/{name}")

    assert stored == StoredObject(data=b"copied in by hand", content_type=content_type)


async def test_a_damaged_sidecar_falls_back_to_the_extension(tmp_path: Path) -> None:
    storage = ObstoreStorage.local(tmp_path)
    await storage.put("events/1/image.png", PNG, "image/webp")
    (tmp_path / ".afisha-meta/events/1/image.png").write_text("{not json")

    stored = await storage.get("events/1/image.png")

    assert stored == StoredObject(data=PNG, content_type="image/png")


async def test_a_key_cannot_be_both_an_object_and_a_folder_in_a_local_store(
    tmp_path: Path,
) -> None:
    storage = ObstoreStorage.local(tmp_path)
    await storage.put("events/1/image.png", PNG, "image/png")

    with pytest.raises(ValueError, match="is a folder of other objects"):
        await storage.put("events/1", PNG, "image/png")
    with pytest.raises(ValueError, match=re.escape("needs 'events/1/image.png' as a folder")):
        await storage.put("events/1/image.png/thumb.png", PNG, "image/png")

    await storage.delete("events/1")  # a folder, not an object: nothing to delete
    assert await storage.get("events/1") is None
    assert await storage.get("events/1/image.png") == StoredObject(
        data=PNG, content_type="image/png"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (".afisha-meta/events/1/image.png", "reserved"),
        ("events/1/image.png#12", "'#' and digits"),
        ("events/1/nul\x00.png", "NUL"),
    ],
)
async def test_keys_a_local_folder_cannot_hold_are_refused(
    tmp_path: Path, key: str, message: str
) -> None:
    storage = ObstoreStorage.local(tmp_path / "media")

    with pytest.raises(ValueError, match=message):
        await storage.put(key, PNG, "image/png")
    assert files_under(tmp_path) == []


async def test_local_keys_with_hash_or_percent_are_kept_literally(tmp_path: Path) -> None:
    storage = ObstoreStorage.local(tmp_path)

    await storage.put("events/#1/a%41b#x.png", PNG, "image/png")

    assert (tmp_path / "events/#1/a%41b#x.png").read_bytes() == PNG
    assert storage.url("events/#1/a%41b#x.png") == (
        "http://127.0.0.1:8080/media/events/%231/a%2541b%23x.png"
    )


async def test_local_ping_recreates_a_removed_folder(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    storage = ObstoreStorage.local(folder)
    shutil.rmtree(folder)

    await storage.ping()

    assert folder.is_dir()


async def test_local_ping_fails_when_the_folder_cannot_exist(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    storage = ObstoreStorage.local(folder)
    folder.rmdir()
    folder.write_bytes(b"a file where the folder should be")

    with pytest.raises(StorageUnavailable, match="missing or not writable"):
        await storage.ping()


async def test_memory_ping_always_passes() -> None:
    await ObstoreStorage.memory().ping()


# --- keys every store refuses ------------------------------------------------------------

BAD_KEYS = [
    "",
    "/events/1/image.png",
    "../image.png",
    "events/../../image.png",
    "events/..",
    "./image.png",
    "events/./image.png",
    "events//image.png",
    "events/1/",
    "events\\1\\image.png",
]


@pytest_asyncio.fixture(params=["s3", "local", "memory"])
async def any_storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_bucket: S3Bucket
) -> ObstoreStorage:
    kind: str = request.param
    if kind == "s3":
        return s3_storage(s3_bucket)
    if kind == "local":
        return ObstoreStorage.local(tmp_path / "media")
    return ObstoreStorage.memory()


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_by_every_operation(
    any_storage: ObstoreStorage, key: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="object key"):
        await any_storage.put(key, PNG, "image/png")
    with pytest.raises(ValueError, match="object key"):
        await any_storage.get(key)
    with pytest.raises(ValueError, match="object key"):
        await any_storage.delete(key)
    with pytest.raises(ValueError, match="object key"):
        any_storage.url(key)
    assert files_under(tmp_path) == []


async def test_dot_dot_cannot_escape_a_local_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("keep out")
    storage = ObstoreStorage.local(tmp_path / "media")

    with pytest.raises(ValueError, match=re.escape("'..' segment")):
        await storage.get("../secret.txt")
    with pytest.raises(ValueError, match=re.escape("'..' segment")):
        await storage.delete("../secret.txt")

    assert (tmp_path / "secret.txt").read_text() == "keep out"


@pytest.mark.parametrize("content_type", ["", "  ", "image/png\r\nX-Evil: 1"])
async def test_a_content_type_that_is_no_header_value_is_refused(content_type: str) -> None:
    storage = ObstoreStorage.memory()

    with pytest.raises(ValueError, match="content type"):
        await storage.put("events/1/image.png", PNG, content_type)
    assert await storage.get("events/1/image.png") is None


async def test_wrapping_a_store_checks_its_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs base_url"):
        ObstoreStorage(LocalStore(tmp_path))
    with pytest.raises(ValueError, match="not the whole disk"):
        ObstoreStorage(LocalStore(), base_url="http://127.0.0.1:8080/media")
    assert os.listdir(tmp_path) == []
