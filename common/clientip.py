"""The address of the client a request came from, as far as it can be trusted.

``REMOTE_ADDR`` is the address the connection came from. Behind a reverse proxy that
is the proxy, and every resident would share one counter in the throttles and one
lockout in django-axes. ``YISHI_TRUSTED_PROXIES`` (settings) names the networks of
the proxies in front of the app; only when the connection comes from one of them is
X-Forwarded-For read, and then the right-most address in it that is not itself a
trusted proxy is the client. Anything further left was written by the client and is
ignored. With no trusted proxies (the default) the header is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """Networks from a comma-separated string or a list: ``"127.0.0.1/32,172.16.0.0/12"``."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _address(raw: str) -> Address | None:
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:  # [v6]:port
        raw = raw[1 : raw.index("]")]
    elif raw.count(":") == 1:  # v4:port
        raw = raw.split(":")[0]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address (a string), or ``"unknown"`` when none can be read."""
    networks = parse_networks(getattr(settings, "YISHI_TRUSTED_PROXIES", ()))
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return "unknown"
    if not networks or not _trusted(remote, networks):
        return str(remote)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for raw in reversed(hops):
        hop = _address(raw)
        if hop is None:
            # A hop a trusted proxy wrote must be an address; garbage means the chain
            # cannot be followed further, so the last trusted hop is the client.
            return str(remote)
        if not _trusted(hop, networks):
            return str(hop)
        remote = hop
    return str(remote)


def axes_client_ip(request: HttpRequest) -> str | None:
    """The client's address for django-axes, which keeps it in an IP address column: None
    (not ``"unknown"``) when none can be read, as for a login made in-process."""
    address = client_ip(request)
    return None if address == "unknown" else address
