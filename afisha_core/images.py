"""Recognising pictures by their magic bytes."""

from __future__ import annotations

__all__ = ["IMAGE_TYPES", "sniff_image_type"]

#: Accepted content types and the file extension used for their storage keys.
IMAGE_TYPES: dict[str, str] = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def sniff_image_type(data: bytes) -> str | None:
    """The content type that ``data`` really is (PNG, JPEG or WebP), or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
