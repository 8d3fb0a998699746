"""Posting to an address an admin typed (webhooks, the brand's Slack-compatible hook):
the one way the product makes such a request, so it cannot be aimed inside.

An outside probe subscribed ``http://127.0.0.1:5432/``, ``:6379``, the cloud metadata
address and ``http://[::1]:8123/admin/``, and "Send a test" showed the admin the first
300 bytes of each internal service's answer. So:

* https only (``CONTROLTOWER_WEBHOOK_ALLOW_HTTP`` lets a development setup use http);
* the host is resolved when the request is made, and *every* address it resolves to must
  be a public one — loopback, private, link-local (the metadata service), shared,
  multicast, reserved and unspecified addresses are refused
  (``CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE`` lets tests and a lab reach a local receiver);
* the connection goes to the address that was checked (TRICKY: resolving again to
  connect would let a DNS answer change between the check and the use);
* redirects are not followed (a redirect is reported as a failure to fix);
* only the status code comes back: an endpoint's answer is never read into the product.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from collections.abc import Mapping

from django.conf import settings


class AddressRefused(Exception):
    """The URL may not be posted to; the message says why, for the admin."""


def address_problem(address: str) -> str:
    """Why ``address`` (an IP) may not be reached ("" when it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"“{address}” is not an IP address"
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback:
        return f"{ip} is this machine (loopback)"
    if ip.is_link_local:
        return f"{ip} is link-local (where cloud metadata services answer)"
    if ip.is_unspecified:
        return f"{ip} is unspecified"
    if ip.is_multicast:
        return f"{ip} is multicast"
    if not ip.is_global:
        return f"{ip} is a private or reserved address, not the internet"
    return ""


def url_problem(url: str) -> str:
    """Why ``url`` cannot be an endpoint, before any address is looked up ("" if none)."""
    parts = urllib.parse.urlsplit((url or "").strip())
    allow_http = getattr(settings, "CONTROLTOWER_WEBHOOK_ALLOW_HTTP", False)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        wanted = "an http:// or https://" if allow_http else "an https://"
        return f"The endpoint must be {wanted} URL with a host."
    if parts.username or parts.password:
        return "Put no credentials in the URL: receivers check the signature."
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return "The URL's port is not a number."
    if _is_ip(parts.hostname) and not _private_allowed():
        problem = address_problem(parts.hostname)
        if problem:
            return f"The endpoint cannot be {problem}."
    return ""


def resolve(url: str) -> tuple[str, int, str]:
    """(host, port, checked address) for ``url``; :class:`AddressRefused` if any
    address the host resolves to may not be reached."""
    problem = url_problem(url)
    if problem:
        raise AddressRefused(problem)
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"{host} could not be resolved ({exc}).") from exc
    addresses = sorted({info[4][0] for info in found})
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address.")
    if not _private_allowed():
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise AddressRefused(f"{host} resolves to {address}: {problem}.")
    return host, port, addresses[0]


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
    """POST ``body`` to ``url`` at the address checked for it; the status code. Raises
    :class:`AddressRefused` (never sent) or ``OSError`` (could not connect or timed
    out). The answer's body is never read."""
    host, port, address = resolve(url)
    parts = urllib.parse.urlsplit(url.strip())
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, address=address, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        return connection.getresponse().status
    finally:
        connection.close()


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to ``address`` for ``host`` (the Host header stays the name)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to ``address``, verifying the certificate for ``host``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _private_allowed() -> bool:
    return bool(getattr(settings, "CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE", False))
