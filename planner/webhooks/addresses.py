"""Where a webhook may point: HTTPS to a public address. Loopback, private, link-local and other
non-public ranges are refused when the endpoint is registered and again at each delivery (the
name may resolve elsewhere by then: DNS rebinding), and the delivery connects to the very
address that was checked. WEBHOOK_ALLOW_PRIVATE=1 (local development, the tests) allows both
plain HTTP and private addresses."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from flask_babel import lazy_gettext as _l


class UnsafeAddress(Exception):
    """The URL may not be called; the message is for people."""


def checked_url(url: str, allow_private: bool) -> SplitResult:
    """The parts of `url` if a webhook may point there, else UnsafeAddress."""
    parts = urlsplit(url.strip())
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeAddress(_l("The address must start with https://."))
    if not parts.hostname:
        raise UnsafeAddress(_l("The address names no host."))
    if parts.username or parts.password:
        raise UnsafeAddress(_l("The address must not contain a user name or password."))
    try:
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise UnsafeAddress(_l("The address has an invalid port.")) from None
    resolve(parts, allow_private)
    return parts


def resolve(parts: SplitResult, allow_private: bool) -> str:
    """The address to connect to for `parts`: the first the host resolves to, provided none of
    them is private (a name with one public and one private address is refused)."""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(_l("The host could not be found.")) from None
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private and any(not _public(address) for address in addresses):
        raise UnsafeAddress(_l("The address points to a private or local network."))
    return addresses[0]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
