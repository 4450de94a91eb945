"""The contract every :class:`~afisha_core.ports.ObjectStorage` adapter passes."""

from __future__ import annotations

from uuid import uuid4

import pytest

from afisha_core.ports import ObjectStorage, StoredObject

__all__ = ["ObjectStorageContract"]

# The first bytes of a PNG file: what an event picture starts with.
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(32))


def _fresh_prefix() -> str:
    """Return a key prefix that no other test, or earlier run, has used."""
    return f"afisha-contract/{uuid4().hex}"


class ObjectStorageContract:
    """Storing, reading and deleting objects as :class:`~afisha_core.ports.ObjectStorage` says.

    Subclass it in a ``Test...`` class that provides a fixture ``storage`` returning
    the adapter under test (sync or async). Every test writes under a fresh key
    prefix, so a shared bucket needs no cleaning between tests.
    """

    pytestmark = pytest.mark.asyncio

    async def test_put_then_get_returns_the_data_and_content_type(
        self, storage: ObjectStorage
    ) -> None:
        """What is put comes back with its content type."""
        key = f"{_fresh_prefix()}/image.png"

        await storage.put(key, PNG_BYTES, "image/png")

        assert await storage.get(key) == StoredObject(data=PNG_BYTES, content_type="image/png")

    async def test_get_of_a_missing_key_is_none(self, storage: ObjectStorage) -> None:
        """Getting a key that holds nothing gives ``None``."""
        assert await storage.get(f"{_fresh_prefix()}/missing.png") is None

    async def test_put_replaces_the_object_and_its_content_type(
        self, storage: ObjectStorage
    ) -> None:
        """Putting again replaces both the data and the content type."""
        key = f"{_fresh_prefix()}/image"
        await storage.put(key, PNG_BYTES, "image/png")

        await storage.put(key, b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")

        assert await storage.get(key) == StoredObject(
            data=b"RIFF\x00\x00\x00\x00WEBPVP8 ", content_type="image/webp"
        )

    async def test_delete_removes_the_object(self, storage: ObjectStorage) -> None:
        """A deleted object is gone."""
        key = f"{_fresh_prefix()}/image.png"
        await storage.put(key, PNG_BYTES, "image/png")

        await storage.delete(key)

        assert await storage.get(key) is None

    async def test_delete_leaves_other_objects_alone(self, storage: ObjectStorage) -> None:
        """Deleting one object keeps its neighbours."""
        prefix = _fresh_prefix()
        await storage.put(f"{prefix}/a.png", PNG_BYTES, "image/png")
        await storage.put(f"{prefix}/b.png", PNG_BYTES[::-1], "image/png")

        await storage.delete(f"{prefix}/a.png")

        assert await storage.get(f"{prefix}/b.png") == StoredObject(
            data=PNG_BYTES[::-1], content_type="image/png"
        )

    async def test_deleting_a_missing_key_is_fine(self, storage: ObjectStorage) -> None:
        """Deleting a key that holds nothing (or no longer does) is not an error."""
        key = f"{_fresh_prefix()}/never-stored.png"

        await storage.delete(key)
        await storage.put(key, PNG_BYTES, "image/png")
        await storage.delete(key)
        await storage.delete(key)

        assert await storage.get(key) is None

    async def test_every_byte_value_survives(self, storage: ObjectStorage) -> None:
        """Binary data with every byte value comes back unchanged."""
        key = f"{_fresh_prefix()}/all-bytes.bin"
        data = bytes(range(256)) * 4 + b"\r\n\x00\r" + bytes(range(255, -1, -1))

        await storage.put(key, data, "application/octet-stream")

        stored = await storage.get(key)
        assert stored is not None
        assert stored.data == data
        assert stored.content_type == "application/octet-stream"

    async def test_a_megabyte_survives(self, storage: ObjectStorage) -> None:
        """An object of a mebibyte (a typical picture) comes back unchanged."""
        key = f"{_fresh_prefix()}/big.bin"
        data = (bytes(range(251)) * 4200)[: 1024 * 1024]

        await storage.put(key, data, "image/jpeg")

        stored = await storage.get(key)
        assert stored is not None
        assert len(stored.data) == len(data)
        assert stored.data == data

    async def test_keys_with_nested_segments_are_independent(self, storage: ObjectStorage) -> None:
        """Keys with several ``/`` segments each hold their own object."""
        prefix = _fresh_prefix()
        keys = {
            f"{prefix}/events/1/image.png": b"one",
            f"{prefix}/events/2/image.png": b"two",
            f"{prefix}/events/1/thumbs/small.png": b"small",
            f"{prefix}/users/1/image.png": b"user",
        }
        for key, data in keys.items():
            await storage.put(key, data, "image/png")

        for key, data in keys.items():
            assert await storage.get(key) == StoredObject(data=data, content_type="image/png")

    async def test_url_is_absolute_and_differs_per_key(self, storage: ObjectStorage) -> None:
        """The URL of a key is absolute, stable, and differs between keys."""
        prefix = _fresh_prefix()
        first = storage.url(f"{prefix}/events/1/image.png")
        second = storage.url(f"{prefix}/events/2/image.png")

        assert "://" in first
        assert "://" in second
        assert first != second
        assert storage.url(f"{prefix}/events/1/image.png") == first
