"""The real client IP behind proxies (L1, A12).

``X-Forwarded-For`` is believed only from peers in ``PALISADE_TRUSTED_PROXIES`` (CIDRs): the
header is walked from the right, skipping trusted proxies, and the first address that is not
one is the client. Anything unparseable falls back to the peer address.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@cache
def _trusted_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in settings.PALISADE_TRUSTED_PROXIES)


def _parse(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: IPAddress) -> bool:
    return any(address in network for network in _trusted_networks())


def from_trusted_proxy(request) -> bool:
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _trusted(peer)


def client_ip(request) -> str | None:
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    if not _trusted(peer):
        return str(peer)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break
        if not _trusted(address):
            return str(address)
    return str(peer)
