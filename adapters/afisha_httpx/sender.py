"""Webhook delivery over HTTP with httpx, safe against server-side request forgery.

Every request resolves the destination's host first and refuses loopback, private,
link-local (which includes the 169.254.169.254 metadata endpoint), multicast, reserved
and unspecified addresses, then connects to the address it checked (the ``Host``
header and TLS SNI still name the host), so a DNS answer that changes between the
check and the connection cannot redirect it. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx

from afisha_core.ports import WebhookSendError

__all__ = ["HttpxWebhookSender", "is_forbidden_address"]

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def is_forbidden_address(text: str) -> bool:
    """Whether a webhook may not be sent to this IP address (anything not global)."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address in _METADATA
        or not address.is_global
        or address.is_multicast
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


class HttpxWebhookSender:
    """A :class:`~afisha_core.ports.WebhookSender` over one ``httpx.AsyncClient``.

    ``allow_private`` lifts the address check (for a receiver on the same host or
    network); names are still resolved and the checked address is still the one used.
    """

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _resolve(self, url: str) -> tuple[str, str, int]:
        """The host, the checked address to connect to, and the port of ``url``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookSendError("the URL must be http or https with a host")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise WebhookSendError("the URL has an invalid port") from None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            raise WebhookSendError(f"cannot resolve the host: {exc}") from None
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise WebhookSendError("the host has no address")
        if not self.allow_private:
            forbidden = [a for a in addresses if is_forbidden_address(a)]
            if forbidden:
                raise WebhookSendError(
                    "the destination is a loopback, private, link-local or reserved address"
                )
        return host, addresses[0], port

    async def check_destination(self, url: str) -> None:
        """See :meth:`afisha_core.ports.WebhookSender.check_destination`."""
        await self._resolve(url)

    async def send(self, url: str, headers: dict[str, str], body: bytes, time_limit: float) -> int:
        """See :meth:`afisha_core.ports.WebhookSender.send`."""
        try:
            async with asyncio.timeout(time_limit):
                host, address, port = await self._resolve(url)
                parts = urlsplit(url)
                netloc = f"[{address}]" if ":" in address else address
                pinned = urlunsplit(
                    (parts.scheme, f"{netloc}:{port}", parts.path or "/", parts.query, "")
                )
                host_header = host if parts.port is None else f"{host}:{port}"
                request = self._http().build_request(
                    "POST",
                    pinned,
                    content=body,
                    headers={**headers, "host": host_header},
                    timeout=httpx.Timeout(time_limit),
                    extensions={"sni_hostname": host},
                )
                response = await self._http().send(request, stream=True)
                await response.aclose()
        except TimeoutError:
            raise WebhookSendError(f"no answer within {time_limit:g} s") from None
        except httpx.TimeoutException:
            raise WebhookSendError(f"no answer within {time_limit:g} s") from None
        except httpx.HTTPError as exc:
            raise WebhookSendError(f"{type(exc).__name__}: {exc}"[:300]) from None
        status = response.status_code
        if 300 <= status < 400:
            raise WebhookSendError(f"redirect ({status}) not followed", status_code=status)
        if not 200 <= status < 300:
            raise WebhookSendError(f"answered {status}", status_code=status)
        return status
