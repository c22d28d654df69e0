"""The real client IP behind proxies (L1, A12).

``X-Forwarded-For`` is believed only from peers in ``PALISADE_TRUSTED_PROXIES`` (CIDRs): the
header is walked from the right, skipping trusted proxies, and the first address that is not
one is the client. Anything unparseable falls back to the peer address.

Addresses are compared as ``ipaddress`` objects, never as strings, and an IPv4-mapped IPv6
address (``::ffff:203.0.113.9``, what a dual-stack socket reports for an IPv4 peer) is the
IPv4 address it carries, so IPv4 proxy and allowlist networks match it (A12).
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Longer than any textual address, zone id included: longer values are not parsed at all.
_MAX_ADDRESS_LENGTH = 64
# X-Forwarded-For hops examined from the right. The header is client-controlled up to the
# first trusted proxy, so its length must not decide how much work a request costs; no
# deployment has this many proxies in front of it.
MAX_FORWARDED_HOPS = 16


@cache
def _trusted_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in settings.PALISADE_TRUSTED_PROXIES)


def parse_address(value: str) -> IPAddress | None:
    value = value.strip()
    if len(value) > _MAX_ADDRESS_LENGTH:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # A zone id names an interface of the host that saw the address, not the client,
        # and comes in any text (A11: a forwarded one overflowed the audit log's ip column).
        return ipaddress.IPv6Address(int(address))
    return address


def _trusted(address: IPAddress) -> bool:
    return any(address in network for network in _trusted_networks())


def from_trusted_proxy(request) -> bool:
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _trusted(peer)


def client_ip(request) -> str | None:
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    if not _trusted(peer):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = forwarded.rsplit(",", MAX_FORWARDED_HOPS)[-MAX_FORWARDED_HOPS:]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break
        if not _trusted(address):
            return str(address)
    return str(peer)
